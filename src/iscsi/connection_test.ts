import assert from "node:assert/strict";
import { concatBytes } from "../bytes.ts";
import { IQN, login, withTarget } from "./_testing/one_lun_target.ts";
import { bhs, encodeTextKeys, keys, RawInitiator } from "./_testing/raw_initiator.ts";
import { encodeFrame } from "./pdu/bhs.ts";

const RESERVED = 0xffffffff;

Deno.test("discovery session answers SendTargets=All", async () => {
  await withTarget(async (address) => {
    const { ini } = await login(address, { discovery: true });
    await ini.send(bhs(0x44, 0x80, { 16: 5, 20: RESERVED, 24: ini.cmdSN }), encodeTextKeys([["SendTargets", "All"]]));
    const r = await ini.read();
    assert.equal(r?.opcode, 0x24);
    const k = keys(r!.data);
    assert.equal(k.get("TargetName"), IQN);
    assert.equal(k.get("TargetAddress"), `${address},1`);
    ini.close();
  });
});

Deno.test("login negotiates declaratively and opens an honest CmdSN window", async () => {
  await withTarget(async (address) => {
    const { ini, keys: k, maxCmdSN } = await login(address, {
      extra: [["MaxRecvDataSegmentLength", "8192"], ["HeaderDigest", "None"], ["ErrorRecoveryLevel", "1"]],
    });
    assert.equal(k.get("MaxRecvDataSegmentLength"), "262144");
    assert.equal(k.get("ErrorRecoveryLevel"), "0");
    assert.equal(maxCmdSN, 1 + 63);
    ini.close();
  });
});

Deno.test("NOP-Out ping is echoed with the next StatSN", async () => {
  await withTarget(async (address) => {
    const { ini, statSN } = await login(address);
    const payload = new TextEncoder().encode("are you there?");
    await ini.send(bhs(0x40, 0x80, { 16: 77, 20: RESERVED, 24: ini.cmdSN, 28: statSN + 1 }), payload);
    const r = await ini.read();
    assert.equal(r?.opcode, 0x20);
    assert.equal(r!.u32(16), 77);
    assert.equal(r!.u32(24), statSN + 1);
    assert.deepEqual(r!.data, payload);
    ini.close();
  });
});

Deno.test("a malformed SCSI command earns a Reject carrying its header", async () => {
  await withTarget(async (address) => {
    const { ini } = await login(address);
    const bad = bhs(0x01, 0x80 | 0x40 | 0x20, { 16: 9, 20: 512, 24: ini.cmdSN }); // READ and WRITE at once
    bad[32] = 0x28;
    await ini.send(bad);
    const r = await ini.read();
    assert.equal(r?.opcode, 0x3f);
    assert.equal(r!.bhs[2], 0x09);
    assert.deepEqual(r!.data, bad);
    ini.close();
  });
});

Deno.test("task management: unsupported and unknown functions get their RFC 7143 responses", async () => {
  await withTarget(async (address) => {
    const { ini } = await login(address);
    const cases: [number, number, number][] = [[3, 0, 5], [8, 0, 4], [1, 0, 1], [5, 7, 2], [0x55, 0, 255], [2, 0, 0]];
    for (const [fn, lun, expected] of cases) {
      const req = bhs(0x42, 0x80 | fn, { 16: 100 + fn, 20: 4242, 24: ini.cmdSN });
      req[9] = lun;
      await ini.send(req);
      const r = await ini.read();
      assert.equal(r?.opcode, 0x22);
      assert.equal(r!.bhs[2], expected, `function ${fn}`);
    }
    ini.close();
  });
});

Deno.test("READ splits Data-In by MaxRecvDataSegmentLength with status in the last PDU", async () => {
  await withTarget(async (address) => {
    const { ini } = await login(address, { extra: [["MaxRecvDataSegmentLength", "8192"]] });
    const cmd = bhs(0x01, 0x80 | 0x40 | 0x01, { 16: 11, 20: 65536, 24: ini.cmdSN });
    cmd.set([0x28, 0, 0, 0, 0, 0, 0, 0, 128, 0], 32);
    await ini.send(cmd);
    const sns: number[] = [];
    for (;;) {
      const r = await ini.read();
      assert.equal(r?.opcode, 0x25);
      assert.equal(r!.data.length, 8192);
      sns.push(r!.u32(36));
      if (r!.bhs[1]! & 0x01) {
        assert.equal(r!.bhs[3], 0);
        break;
      }
    }
    assert.deepEqual(sns, [0, 1, 2, 3, 4, 5, 6, 7]);
    ini.close();
  });
});

Deno.test("WRITE without immediate data is solicited by R2T and completes", async () => {
  await withTarget(async (address) => {
    const { ini } = await login(address, { extra: [["ImmediateData", "No"], ["InitialR2T", "Yes"]] });
    const cmd = bhs(0x01, 0x80 | 0x20 | 0x01, { 16: 12, 20: 1024, 24: ini.cmdSN });
    cmd.set([0x2a, 0, 0, 0, 0, 4, 0, 0, 2, 0], 32);
    await ini.send(cmd);
    const r2t = await ini.read();
    assert.equal(r2t?.opcode, 0x31);
    assert.deepEqual([r2t!.u32(40), r2t!.u32(44)], [0, 1024]);
    const out = bhs(0x05, 0x80, { 16: 12, 20: r2t!.u32(20), 36: 0, 40: 0 });
    await ini.send(out, new Uint8Array(1024).fill(0x5a));
    const resp = await ini.read();
    assert.equal(resp?.opcode, 0x21);
    assert.equal(resp!.bhs[3], 0);
    ini.close();
  });
});

Deno.test("a data digest error is rejected; header digests protect every PDU", async () => {
  await withTarget(async (address) => {
    const { ini, statSN } = await login(address, { extra: [["HeaderDigest", "CRC32C"], ["DataDigest", "CRC32C"]] });
    ini.digests = { header: true, data: true };
    const ping = bhs(0x40, 0x80, { 16: 3, 20: RESERVED, 24: ini.cmdSN, 28: statSN + 1 });
    ping[5] = 0;
    ping[7] = 4;
    const frame = new Uint8Array(48 + 4 + 4 + 4);
    frame.set(encodeFrame(ping, Uint8Array.of(1, 2, 3, 4), ini.digests));
    frame[frame.length - 1] = frame[frame.length - 1]! ^ 0xff;
    await ini.sendRaw(frame);
    const r = await ini.read();
    assert.equal(r?.opcode, 0x3f);
    assert.equal(r!.bhs[2], 0x02);
    await ini.send(ping, Uint8Array.of(1, 2, 3, 4));
    const pong = await ini.read();
    assert.equal(pong?.opcode, 0x20);
    ini.close();
  });
});

Deno.test("logout: recovery reason is refused, session close is answered and ends the connection", async () => {
  await withTarget(async (address, target) => {
    const { ini } = await login(address);
    assert.equal(target.sessions().length, 1);
    await ini.send(bhs(0x46, 0x80 | 2, { 16: 20, 24: ini.cmdSN }));
    assert.equal((await ini.read())!.bhs[2], 2);
    await ini.send(bhs(0x46, 0x80 | 0, { 16: 21, 24: ini.cmdSN }));
    const r = await ini.read();
    assert.equal(r?.opcode, 0x26);
    assert.equal(r!.bhs[2], 0);
    assert.equal(await ini.read(), undefined);
    ini.close();
  });
});

Deno.test("a new login with the same ISID reinstates the session and drops the old connection", async () => {
  await withTarget(async (address, target) => {
    const first = await login(address, { isid: 7 });
    const second = await login(address, { isid: 7 });
    assert.equal(await first.ini.read(), undefined);
    assert.equal(target.sessions().length, 1);
    first.ini.close();
    second.ini.close();
  });
});

Deno.test("a connection lost while a write waits for Data-Out leaves no session behind", async () => {
  await withTarget(async (address, target) => {
    const { ini } = await login(address, { extra: [["ImmediateData", "No"], ["InitialR2T", "Yes"]] });
    const cmd = bhs(0x01, 0x80 | 0x20 | 0x01, { 16: 13, 20: 4096, 24: ini.cmdSN });
    cmd.set([0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0], 32);
    await ini.send(cmd);
    assert.equal((await ini.read())?.opcode, 0x31);
    ini.close();
    for (let i = 0; i < 50 && target.sessions().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(target.sessions().length, 0);
  });
});

Deno.test("an initiator gone while R2Ts and Data-In are on their way leaves the target serving", async () => {
  // The target's writes to the closed socket fail; each failure must be handled (an unhandled one ends the process).
  await withTarget(async (address, target) => {
    for (let round = 0; round < 5; round++) {
      const { ini } = await login(address, {
        extra: [["ImmediateData", "No"], ["InitialR2T", "Yes"], ["MaxRecvDataSegmentLength", "512"]],
        isid: 20 + round,
      });
      const pdus: Uint8Array[] = [];
      for (let i = 0; i < 32; i++) {
        const write = i % 2 === 0;
        const cmd = bhs(0x01, 0x80 | (write ? 0x20 : 0x40) | 0x01, { 16: 100 + i, 20: 65536, 24: ini.cmdSN++ });
        cmd.set([write ? 0x2a : 0x28, 0, 0, 0, 0, 0, 0, 0, 128, 0], 32);
        pdus.push(encodeFrame(cmd, new Uint8Array(0), ini.digests));
      }
      await ini.sendRaw(concatBytes(pdus));
      ini.close();
      for (let i = 0; i < 100 && target.sessions().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    }
    const { ini } = await login(address);
    const tur = bhs(0x01, 0x80 | 0x01, { 16: 1, 20: 0, 24: ini.cmdSN });
    await ini.send(tur);
    const reply = await ini.read();
    assert.deepEqual([reply?.opcode, reply?.bhs[3]], [0x21, 0]);
    ini.close();
  });
});

Deno.test("a connection that never logs in is dropped after the login timeout", async () => {
  await withTarget(async (address) => {
    const ini = await RawInitiator.connect(address);
    assert.equal(await ini.read(), undefined);
    ini.close();
  }, 100);
});

Deno.test("a write ahead of a CmdSN gap collects its data at once and runs only after the gap fills", async () => {
  await withTarget(async (address) => {
    const { ini } = await login(address, { extra: [["ImmediateData", "No"], ["InitialR2T", "Yes"]] });
    const write = bhs(0x01, 0x80 | 0x20 | 0x01, { 16: 31, 20: 512, 24: ini.cmdSN + 1 });
    write.set([0x2a, 0, 0, 0, 0, 9, 0, 0, 1, 0], 32);
    await ini.send(write);
    const r2t = await ini.read();
    assert.equal(r2t?.opcode, 0x31);
    await ini.send(bhs(0x05, 0x80, { 16: 31, 20: r2t!.u32(20), 36: 0, 40: 0 }), new Uint8Array(512).fill(0x77));
    const pending = ini.read();
    const early = await Promise.race([pending, new Promise((r) => setTimeout(() => r("nothing"), 150))]);
    assert.equal(early, "nothing", "the write must wait for CmdSN " + ini.cmdSN);
    const tur = bhs(0x01, 0x80 | 0x01, { 16: 32, 20: 0, 24: ini.cmdSN });
    await ini.send(tur);
    const replies = [await pending, await ini.read()];
    assert.deepEqual(replies.map((r) => r!.u32(16)).sort(), [31, 32]);
    assert.ok(replies.every((r) => r!.opcode === 0x21 && r!.bhs[3] === 0));
    assert.equal(Math.max(...replies.map((r) => r!.u32(28))), ini.cmdSN + 2); // ExpCmdSN moved past both
    ini.close();
  });
});

Deno.test("Data-In sequences end at MaxBurstLength; a short EDTL reports an overflow residual", async () => {
  await withTarget(async (address) => {
    const { ini } = await login(address, {
      extra: [["MaxRecvDataSegmentLength", "4096"], ["MaxBurstLength", "8192"]],
    });
    const cmd = bhs(0x01, 0x80 | 0x40 | 0x01, { 16: 41, 20: 12288, 24: ini.cmdSN });
    cmd.set([0x28, 0, 0, 0, 0, 0, 0, 0, 32, 0], 32); // 16 KiB wanted, EDTL 12 KiB
    await ini.send(cmd);
    const flags: number[] = [];
    for (;;) {
      const r = await ini.read();
      assert.equal(r?.opcode, 0x25);
      flags.push(r!.bhs[1]!);
      if (r!.bhs[1]! & 0x01) {
        assert.equal(r!.u32(44), 4096); // residual count
        break;
      }
    }
    // F at the 8 KiB burst boundary and at the end; the last carries S and O (overflow).
    assert.deepEqual(flags, [0x00, 0x80, 0x80 | 0x04 | 0x01]);
    ini.close();
  });
});
