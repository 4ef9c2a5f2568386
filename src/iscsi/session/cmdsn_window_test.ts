import assert from "node:assert/strict";
import { accepted, admit, completed, createWindow, snLessThan } from "./cmdsn_window.ts";

Deno.test("snLessThan() uses serial arithmetic across the 32-bit wrap", () => {
  assert.equal(snLessThan(1, 2), true);
  assert.equal(snLessThan(0xffffffff, 0), true);
  assert.equal(snLessThan(0, 0xffffffff), false);
  assert.equal(snLessThan(5, 5), false);
});

Deno.test("admit(): in order accepted, ahead within window queued, outside dropped", () => {
  const w = createWindow(100, 4); // 100..103
  assert.equal(admit(w, 100, false), "accept");
  assert.equal(admit(w, 102, false), "queue");
  assert.equal(admit(w, 103, false), "queue");
  assert.equal(admit(w, 104, false), "drop");
  assert.equal(admit(w, 99, false), "drop");
  assert.equal(admit(w, 7, true), "accept");
});

Deno.test("MaxCmdSN reflects free slots honestly and never moves back", () => {
  let w = createWindow(0xfffffffe, 2); // window fffffffe..ffffffff
  w = accepted(w);
  w = accepted(w);
  assert.equal(w.expCmdSN, 0);
  assert.equal(w.maxCmdSN, 0xffffffff); // both slots busy: no new command may be sent
  assert.equal(admit(w, 0, false), "drop");
  w = completed(w);
  assert.equal(w.maxCmdSN, 0);
  assert.equal(admit(w, 0, false), "accept");
  w = completed(w);
  assert.equal(w.maxCmdSN, 1);
  w = completed(w); // spurious completion does not shrink or over-open
  assert.equal(w.maxCmdSN, 1);
});
