/**
 * Randomized bad input for the iSCSI target: logged-in initiators send SCSI commands with random and mutated CDBs,
 * Data-Out for tasks that are not waiting for it, task management, text, logout and unknown opcodes, garbage frames,
 * then vanish mid-exchange. The target must answer or drop each connection — an unhandled failure would end the
 * whole appliance (the test runner fails on one) — and keep serving new sessions. Seeded, as in the gateway's test.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Random, seededRandom } from "../_testing/random.ts";
import { login, withTarget } from "./_testing/one_lun_target.ts";
import { bhs } from "./_testing/raw_initiator.ts";

const CDBS: ((r: Random) => number[])[] = [
  (r) => [0x28, 0, 0, 0, 0, r.int(20), 0, 0, r.int(4), 0], // READ(10)
  (r) => [0x2a, 0, 0, 0, 0, r.int(20), 0, 0, r.int(4), 0], // WRITE(10)
  (r) => [0x88, 0, 0, 0, 0, 0, 0, 0, 0, r.int(20), 0, 0, 0, r.int(4), 0, 0], // READ(16)
  (r) => [0x93, 0, 0, 0, 0, 0, 0, 0, 0, r.int(20), 0, 0, 0, r.int(4), 0, 0], // WRITE SAME(16)
  (r) => [0x89, 0, 0, 0, 0, 0, 0, 0, 0, r.int(20), 0, 0, 0, 1, 0, 0], // COMPARE AND WRITE
  (r) => [0x12, r.int(2), r.int(256), 0, r.int(256), 0], // INQUIRY
  (r) => [0x5a, 0, r.int(64), 0, 0, 0, 0, r.int(2), r.int(256), 0], // MODE SENSE(10)
  (r) => [0x15, 0x10, 0, 0, r.int(40), 0], // MODE SELECT(6)
  () => [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], // UNMAP
  (r) => [0x5e, r.int(8), 0, 0, 0, 0, 0, 0, 24, 0], // PERSISTENT RESERVE IN
  (r) => [0x5f, r.int(8), 0, 0, 0, 0, 0, 0, 24, 0], // PERSISTENT RESERVE OUT
  () => [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], // READ CAPACITY(16)
  (r) => [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, r.int(2), 0, 0], // REPORT LUNS
  (r) => Array.from({ length: 16 }, () => r.int(256)), // anything
];

/** One session of random PDUs, ended by closing the socket whatever the target is doing. */
async function badSession(r: Random, address: string, isid: number): Promise<void> {
  const extra: [string, string][] = r.next() < 0.5 ? [["ImmediateData", "No"], ["InitialR2T", "Yes"]] : [];
  const { ini } = await login(address, { extra, isid });
  const draining = (async () => {
    while (await ini.read().catch(() => undefined));
  })();
  for (let n = 1 + r.int(12); n > 0; n--) {
    const opcode = r.pick([0x01, 0x01, 0x01, 0x05, 0x00, 0x02, 0x04, 0x06, 0x10, r.int(64)]);
    const flags = r.next() < 0.7 ? 0x80 | r.pick([0, 0x20, 0x40, 0x60]) | r.int(8) : r.int(256);
    const edtl = r.pick([0, 512, 4096, 65536, r.int(1 << 24), 0xffffffff]);
    const pdu = bhs(opcode, flags, { 16: ini.itt++, 20: edtl, 24: ini.cmdSN++, 28: r.pick([0, 1, 0xffffffff]) });
    if (opcode === 0x01) pdu.set(r.pick(CDBS)(r), 32);
    if (opcode === 0x05) pdu.set([0, 0, 0, r.int(4), 0, 0, r.int(4), 0], 36); // DataSN, buffer offset
    for (let m = r.next() < 0.3 ? r.int(4) : 0; m > 0; m--) pdu[r.int(48)] = r.int(256);
    const data = new Uint8Array(r.pick([0, 0, 24, 512, r.int(9000)])).map(() => r.int(256));
    try {
      if (r.next() < 0.05) await ini.sendRaw(new Uint8Array(48 + r.int(100)).map(() => r.int(256)));
      else await ini.send(pdu, data);
    } catch {
      break; // the target dropped the connection
    }
  }
  ini.close();
  await draining;
}

Deno.test("randomized bad input: PDUs after login and initiators that vanish never end the target", async () => {
  await withTarget(async (address) => {
    const r = seededRandom(1);
    for (let i = 0; i < 400; i++) await badSession(r, address, i % 200);
    // Still serving: a new session reads a block.
    const { ini } = await login(address, { isid: 250 });
    const read = bhs(0x01, 0x80 | 0x40 | 0x01, { 16: 1, 20: 512, 24: ini.cmdSN });
    read.set([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], 32);
    await ini.send(read);
    let bytes = 0;
    for (let reply = await ini.read(); reply; reply = await ini.read()) {
      if (reply.opcode === 0x25) bytes += reply.data.length;
      if (reply.opcode === 0x21 || (reply.opcode === 0x25 && reply.bhs[1]! & 0x01)) break;
    }
    assert.equal(bytes, 512);
    ini.close();
  }, 2000);
});
