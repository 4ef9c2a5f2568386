import assert from "node:assert/strict";
import { RESERVED_TAG } from "../pdu/bhs.ts";
import type { DataOutPdu } from "../pdu/initiator.ts";
import { defaultParams } from "./negotiate.ts";
import { onDataOut, startWrite, type WriteStep } from "./write_task.ts";

function ttts() {
  let n = 0;
  return () => ++n;
}

function dataOut(ttt: number, dataSN: number, offset: number, length: number, final: boolean): DataOutPdu {
  return {
    kind: "data-out",
    final,
    lun: 0,
    itt: 1,
    ttt,
    expStatSN: 0,
    dataSN,
    bufferOffset: offset,
    data: new Uint8Array(length),
  };
}

function ok(s: WriteStep) {
  assert.ok(s.ok, s.ok ? "" : s.reason);
  return s as WriteStep & { ok: true };
}

Deno.test("startWrite(): immediate data covering EDTL completes at once", () => {
  const s = ok(startWrite(4096, 4096, defaultParams(65536), ttts()));
  assert.equal(s.complete, true);
  assert.deepEqual(s.r2ts, []);
});

Deno.test("R2Ts respect MaxBurstLength and MaxOutstandingR2T", () => {
  const p = { ...defaultParams(65536), maxBurstLength: 1000, maxOutstandingR2T: 2, initialR2T: true };
  const next = ttts();
  let s = ok(startWrite(3500, 500, p, next));
  assert.deepEqual(s.r2ts.map((r) => [r.r2tSN, r.offset, r.length]), [[0, 500, 1000], [1, 1500, 1000]]);
  s = ok(onDataOut(s.task, dataOut(1, 0, 500, 1000, true), p, next));
  assert.deepEqual(s.r2ts.map((r) => [r.r2tSN, r.offset, r.length]), [[2, 2500, 1000]]);
  s = ok(onDataOut(s.task, dataOut(2, 0, 1500, 600, false), p, next));
  s = ok(onDataOut(s.task, dataOut(2, 1, 2100, 400, true), p, next));
  assert.equal(s.complete, false);
  s = ok(onDataOut(s.task, dataOut(3, 0, 2500, 1000, true), p, next));
  assert.equal(s.complete, true);
});

Deno.test("unsolicited Data-Out up to FirstBurstLength precedes R2Ts when InitialR2T=No", () => {
  const p = { ...defaultParams(65536), initialR2T: false, firstBurstLength: 1024, maxBurstLength: 4096 };
  const next = ttts();
  let s = ok(startWrite(3072, 512, p, next));
  assert.deepEqual(s.r2ts, []);
  s = ok(onDataOut(s.task, dataOut(RESERVED_TAG, 0, 512, 512, true), p, next));
  assert.deepEqual(s.r2ts.map((r) => [r.offset, r.length]), [[1024, 2048]]);
});

Deno.test("onDataOut() rejects wrong DataSN, offsets, overruns and unknown tags", () => {
  const p = { ...defaultParams(65536), maxBurstLength: 1024 };
  const s = ok(startWrite(1024, 0, p, ttts()));
  for (
    const bad of [
      dataOut(1, 1, 0, 512, false),
      dataOut(1, 0, 512, 512, false),
      dataOut(1, 0, 0, 2048, true),
      dataOut(9, 0, 0, 512, false),
      dataOut(1, 0, 0, 512, true),
    ]
  ) {
    assert.equal(onDataOut(s.task, bad, p, ttts()).ok, false);
  }
});
