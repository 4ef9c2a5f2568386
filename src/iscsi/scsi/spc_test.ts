import assert from "node:assert/strict";
import { type BlockDevice, createMemoryBlockDevice } from "../../blockdev/block_device.ts";
import { executeScsi } from "./dispatch.ts";
import { createLogicalUnit, type LogicalUnit } from "./logical_unit.ts";
import { Status } from "./sense.ts";

const NEXUS = { id: "iqn.x,i,0x01", initiatorName: "iqn.x", isid: "01" };

function exec(lu: LogicalUnit, cdb: number[], dataOut = new Uint8Array(0)) {
  const c = new Uint8Array(16);
  c.set(cdb);
  return executeScsi({ lu, nexus: NEXUS, cdb: c, dataOut, luns: [0, 3] });
}

function unit(dev: BlockDevice = createMemoryBlockDevice({ id: "m", sizeBytes: 64 * 1024 })): LogicalUnit {
  return createLogicalUnit({ lun: 0, device: dev, targetName: "iqn.t" });
}

Deno.test("MODE SENSE(6) all pages returns caching, control and IE pages; saved values are refused", async () => {
  const lu = unit();
  const r = await exec(lu, [0x1a, 0, 0x3f, 0, 255, 0]);
  const d = r.data!;
  assert.equal(d[0], d.length - 1);
  assert.equal(d[3], 8); // block descriptor
  const pages: number[] = [];
  for (let at = 4 + 8; at < d.length; at += d[at + 1]! + 2) pages.push(d[at]! & 0x3f);
  assert.deepEqual(pages, [0x08, 0x0a, 0x1c]);
  assert.equal(d[12 + 2]! & 0x04, 0x04); // WCE
  assert.equal((await exec(lu, [0x1a, 0, 0xc8, 0, 255, 0])).status, Status.CheckCondition);
});

Deno.test("MODE SELECT(10) clears WCE, which makes writes FUA", async () => {
  const lu = unit();
  const sense = await exec(lu, [0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 255, 0]);
  const page = sense.data!.slice(8);
  page[2] = 0;
  const list = new Uint8Array(8 + page.length);
  list.set(page, 8);
  const r = await exec(lu, [0x55, 0x10, 0, 0, 0, 0, 0, 0, list.length, 0], list);
  assert.equal(r.status, Status.Good);
  assert.equal(lu.writeCacheEnabled, false);
});

Deno.test("REPORT SUPPORTED OPERATION CODES: one command with usage data and timeouts, unsupported opcode", async () => {
  const lu = unit();
  const one = await exec(lu, [0xa3, 0x0c, 0x81, 0x28, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.equal(one.data![1], 0x83); // CTDP + supported
  assert.equal(one.data![3], 10);
  assert.equal(one.data![4], 0x28);
  const none = await exec(lu, [0xa3, 0x0c, 0x01, 0xc7, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.equal(none.data![1]! & 0x07, 1);
  const all = await exec(lu, [0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]);
  assert.ok(new DataView(all.data!.buffer).getUint32(0) > 40 * 8);
});

Deno.test("REPORT LUNS lists every LUN of the target", async () => {
  const r = await exec(unit(), [0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.equal(new DataView(r.data!.buffer).getUint32(0), 16);
  assert.equal(r.data![17], 3);
});

Deno.test("a capacity change raises CAPACITY DATA HAS CHANGED once", async () => {
  const base = createMemoryBlockDevice({ id: "g", sizeBytes: 128 * 1024 });
  let size = 64 * 1024;
  const growing: BlockDevice = {
    ...base,
    get sizeBytes() {
      return size;
    },
  };
  const lu = unit(growing);
  assert.equal((await exec(lu, [0x00])).status, Status.Good);
  size = 128 * 1024;
  const r = await exec(lu, [0x00]);
  assert.equal(r.status, Status.CheckCondition);
  assert.deepEqual([r.sense![2], r.sense![12], r.sense![13]], [6, 0x2a, 0x09]);
  assert.equal((await exec(lu, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status, Status.Good);
});
