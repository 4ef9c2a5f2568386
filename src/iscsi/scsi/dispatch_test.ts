import assert from "node:assert/strict";
import { type BlockDevice, createMemoryBlockDevice } from "../../blockdev/block_device.ts";
import { AppError } from "../../errors.ts";
import { executeScsi, type ScsiResult } from "./dispatch.ts";
import { createLogicalUnit, type LogicalUnit, type Nexus, resetLogicalUnit } from "./logical_unit.ts";
import { Asc, Status } from "./sense.ts";

const A: Nexus = { id: "iqn.a,i,0x01", initiatorName: "iqn.a", isid: "01" };
const B: Nexus = { id: "iqn.b,i,0x02", initiatorName: "iqn.b", isid: "02" };

function unit(device?: BlockDevice): LogicalUnit {
  const dev = device ?? createMemoryBlockDevice({ id: "0f0e0d0c-0b0a-0908-0706-050403020100", sizeBytes: 1024 * 512 });
  return createLogicalUnit({ lun: 0, device: dev, targetName: "iqn.t" });
}

function exec(lu: LogicalUnit | undefined, cdb: number[], dataOut: Uint8Array = new Uint8Array(0), nexus = A) {
  const c = new Uint8Array(16);
  c.set(cdb);
  return executeScsi({ lu, nexus, cdb: c, dataOut, luns: [0] });
}

/** [sense key, ASC, ASCQ] of a CHECK CONDITION. */
function sense(r: ScsiResult): [number, number, number] {
  assert.equal(r.status, Status.CheckCondition);
  return [r.sense![2]! & 0xf, r.sense![12]!, r.sense![13]!];
}

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

Deno.test("INQUIRY: standard data, VPD pages, invalid page pointer", async () => {
  const lu = unit();
  const std = await exec(lu, [0x12, 0, 0, 0, 96, 0]);
  assert.equal(std.status, Status.Good);
  assert.equal(new TextDecoder().decode(std.data!.subarray(8, 16)), "S3PLUGIN");
  const serial = await exec(lu, [0x12, 1, 0x80, 0, 255, 0]);
  assert.equal(new TextDecoder().decode(serial.data!.subarray(4)), "0f0e0d0c0b0a09080706050403020100");
  const ids = await exec(lu, [0x12, 1, 0x83, 0, 255, 0]);
  assert.equal(ids.data![4]! & 0x0f, 1); // first designator: binary NAA
  assert.equal(ids.data![8]! >> 4, 6); // NAA type 6
  const lbp = await exec(lu, [0x12, 1, 0xb2, 0, 255, 0]);
  assert.equal(lbp.data![5], 0xe4);
  const bad = sense(await exec(lu, [0x12, 1, 0x99, 0, 255, 0]));
  assert.deepEqual(bad, [5, 0x24, 0]);
  const badSksv = await exec(lu, [0x12, 0, 0x80, 0, 255, 0]);
  assert.equal(badSksv.sense![15], 0xc0); // SKSV + C/D (field in CDB)
  assert.equal(badSksv.sense![17], 2); // byte 2
});

Deno.test("INQUIRY on a missing LUN reports qualifier 3; other commands LOGICAL UNIT NOT SUPPORTED", async () => {
  const r = await exec(undefined, [0x12, 0, 0, 0, 36, 0]);
  assert.equal(r.data![0], 0x7f);
  assert.deepEqual(sense(await exec(undefined, [0x00])), [5, 0x25, 0]);
});

Deno.test("READ CAPACITY(16) reports size, block size, LBPME and LBPRZ", async () => {
  const r = await exec(unit(), [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, ...be32(32), 0, 0]);
  assert.equal(new DataView(r.data!.buffer).getUint32(4), 1023);
  assert.equal(new DataView(r.data!.buffer).getUint32(8), 512);
  assert.equal(r.data![13], 3); // 8 logical blocks per 4 KiB physical block
  assert.equal(r.data![14], 0xc0);
});

Deno.test("WRITE(10)/READ(10) round-trip; out of range is LBA OUT OF RANGE", async () => {
  const lu = unit();
  const data = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);
  assert.equal((await exec(lu, [0x2a, 0x08, ...be32(10), 0, 0, 2, 0], data)).status, Status.Good);
  const r = await exec(lu, [0x28, 0, ...be32(10), 0, 0, 2, 0]);
  assert.deepEqual(r.data, data);
  assert.deepEqual(sense(await exec(lu, [0x28, 0, ...be32(1023), 0, 0, 2, 0])), [5, 0x21, 0]);
  assert.deepEqual(sense(await exec(lu, [0x28, 0xe0, ...be32(0), 0, 0, 1, 0])), [5, 0x24, 0]); // RDPROTECT
});

Deno.test("unknown opcode is INVALID COMMAND OPERATION CODE", async () => {
  assert.deepEqual(sense(await exec(unit(), [0xc7])), [5, 0x20, 0]);
});

Deno.test("a read-only device refuses writes with DATA PROTECT / WRITE PROTECTED", async () => {
  const lu = unit(createMemoryBlockDevice({ id: "r", sizeBytes: 4096, readOnly: true }));
  assert.deepEqual(sense(await exec(lu, [0x2a, 0, ...be32(0), 0, 0, 1, 0], new Uint8Array(512))), [7, 0x27, 0]);
});

Deno.test("backend failures become MEDIUM ERROR, NoSpace becomes SPACE ALLOCATION FAILED", async () => {
  const base = createMemoryBlockDevice({ id: "f", sizeBytes: 4096 });
  const failing: BlockDevice = {
    ...base,
    read: () => Promise.reject(new AppError("Unavailable", "bucket unreachable")),
    write: () => Promise.reject(new AppError("NoSpace", "quota")),
  };
  const lu = unit(failing);
  assert.deepEqual(sense(await exec(lu, [0x28, 0, ...be32(0), 0, 0, 1, 0])), [3, 0x11, 0]);
  assert.deepEqual(sense(await exec(lu, [0x2a, 0, ...be32(0), 0, 0, 1, 0], new Uint8Array(512))), [7, 0x27, 7]);
});

Deno.test("COMPARE AND WRITE writes on match and reports the miscompare offset", async () => {
  const lu = unit();
  const cmd = [0x89, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0];
  const next = new Uint8Array(1024);
  next.fill(0xaa, 512);
  assert.equal((await exec(lu, cmd, next)).status, Status.Good);
  const wrong = new Uint8Array(1024);
  wrong.fill(0xaa, 0, 512);
  wrong[100] = 0x55;
  const r = await exec(lu, cmd, wrong);
  assert.deepEqual(sense(r), [0xe, 0x1d, 0]);
  assert.equal(r.sense![0]! & 0x80, 0x80);
  assert.equal(new DataView(r.sense!.buffer).getUint32(3), 100);
});

Deno.test("UNMAP and WRITE SAME with UNMAP deallocate to zeros", async () => {
  const lu = unit();
  await exec(lu, [0x2a, 0, ...be32(0), 0, 0, 4, 0], new Uint8Array(2048).fill(7));
  const list = new Uint8Array(24);
  list[1] = 22;
  list[3] = 16;
  list.set([0, 0, 0, 0, 0, 0, 0, 1, ...be32(2)], 8);
  assert.equal((await exec(lu, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], list)).status, Status.Good);
  const r = await exec(lu, [0x28, 0, ...be32(0), 0, 0, 4, 0]);
  assert.deepEqual([r.data![0], r.data![512], r.data![1024], r.data![1536]], [7, 0, 0, 7]);
  await exec(lu, [0x41, 0x08, ...be32(3), 0, 0, 1, 0], new Uint8Array(512).fill(9));
  assert.equal((await exec(lu, [0x28, 0, ...be32(3), 0, 0, 1, 0])).data![0], 0);
});

Deno.test("LUN reset raises a unit attention for other nexuses only", async () => {
  const lu = unit();
  await exec(lu, [0x00], undefined, A);
  await exec(lu, [0x00], undefined, B);
  resetLogicalUnit(lu, Asc.BusDeviceReset, A.id);
  assert.equal((await exec(lu, [0x00], undefined, A)).status, Status.Good);
  assert.equal((await exec(lu, [0x12, 0, 0, 0, 36, 0], undefined, B)).status, Status.Good); // INQUIRY passes
  assert.deepEqual(sense(await exec(lu, [0x00], undefined, B)), [6, 0x29, 3]);
  assert.equal((await exec(lu, [0x00], undefined, B)).status, Status.Good);
});

Deno.test("persistent reservations: register, reserve exclusive access, conflicts, preempt", async () => {
  const lu = unit();
  const prout = (sa: number, type: number, key: number, saKey: number, nexus: Nexus) => {
    const p = new Uint8Array(24);
    new DataView(p.buffer).setBigUint64(0, BigInt(key));
    new DataView(p.buffer).setBigUint64(8, BigInt(saKey));
    return exec(lu, [0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0], p, nexus);
  };
  assert.equal((await prout(0, 0, 0, 0xa, A)).status, Status.Good);
  assert.equal((await prout(0, 0, 0, 0xb, B)).status, Status.Good);
  assert.equal((await prout(1, 3, 0xa, 0, A)).status, Status.Good); // EXCLUSIVE ACCESS
  assert.equal((await exec(lu, [0x28, 0, ...be32(0), 0, 0, 1, 0], undefined, B)).status, Status.ReservationConflict);
  assert.equal((await exec(lu, [0x28, 0, ...be32(0), 0, 0, 1, 0], undefined, A)).status, Status.Good);
  assert.equal((await prout(1, 3, 0xbad, 0, B)).status, Status.ReservationConflict); // wrong key
  const keys = await exec(lu, [0x5e, 0, 0, 0, 0, 0, 0, 0, 64, 0], undefined, A);
  assert.equal(new DataView(keys.data!.buffer).getUint32(4), 16);
  assert.equal((await prout(4, 1, 0xb, 0xa, B)).status, Status.Good); // B preempts A
  assert.equal(
    (await exec(lu, [0x2a, 0, ...be32(0), 0, 0, 1, 0], new Uint8Array(512), A)).status,
    Status.CheckCondition,
  );
  const res = await exec(lu, [0x5e, 1, 0, 0, 0, 0, 0, 0, 64, 0], undefined, A);
  assert.equal(res.data![21], 1);
});

Deno.test("PREEMPT AND ABORT aborts the preempted nexus' tasks", async () => {
  const aborted: string[][] = [];
  const lu = createLogicalUnit({
    lun: 0,
    device: createMemoryBlockDevice({ id: "p", sizeBytes: 4096 }),
    targetName: "iqn.t",
    abortTasksOf: (ids) => {
      aborted.push(ids);
      return Promise.resolve();
    },
  });
  const prout = (sa: number, type: number, key: number, saKey: number, nexus: Nexus) => {
    const p = new Uint8Array(24);
    new DataView(p.buffer).setBigUint64(0, BigInt(key));
    new DataView(p.buffer).setBigUint64(8, BigInt(saKey));
    return exec(lu, [0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0], p, nexus);
  };
  await prout(0, 0, 0, 1, A);
  await prout(0, 0, 0, 2, B);
  await prout(1, 1, 1, 0, A);
  await prout(4, 1, 2, 1, B); // plain PREEMPT: no abort
  assert.deepEqual(aborted, []);
  assert.equal((await exec(lu, [0x00], undefined, A)).status, Status.CheckCondition); // REGISTRATIONS PREEMPTED
  await prout(0, 0, 0, 3, A); // A registers again
  assert.equal((await prout(5, 1, 2, 3, B)).status, Status.Good);
  assert.deepEqual(aborted, [[A.id]]);
});
