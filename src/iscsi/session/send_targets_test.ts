import assert from "node:assert/strict";
import { answerTextKeys } from "./send_targets.ts";

const ctx = { targetName: "iqn.a", allTargets: ["iqn.a", "iqn.b"], portal: "10.0.0.1:3260" };

Deno.test("SendTargets=All lists every target in a discovery session, only its own in a normal one", () => {
  assert.deepEqual(answerTextKeys([["SendTargets", "All"]], { ...ctx, sessionType: "Discovery" }), [
    ["TargetName", "iqn.a"],
    ["TargetAddress", "10.0.0.1:3260,1"],
    ["TargetName", "iqn.b"],
    ["TargetAddress", "10.0.0.1:3260,1"],
  ]);
  assert.deepEqual(answerTextKeys([["SendTargets", "All"]], { ...ctx, sessionType: "Normal" }).length, 2);
});

Deno.test("SendTargets for a named or unknown target, and unknown keys", () => {
  const d = { ...ctx, sessionType: "Discovery" as const };
  assert.deepEqual(answerTextKeys([["SendTargets", "iqn.b"]], d)[0], ["TargetName", "iqn.b"]);
  assert.deepEqual(answerTextKeys([["SendTargets", "iqn.zzz"]], d), []);
  assert.deepEqual(answerTextKeys([["X-Vendor", "1"]], d), [["X-Vendor", "NotUnderstood"]]);
});
