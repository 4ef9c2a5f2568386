import assert from "node:assert/strict";
import { BHS_LENGTH, decodeFrame, DigestError, encodeFrame, frameLength, Opcode } from "./bhs.ts";
import { crc32c } from "../../crc32c.ts";
import { decodeInitiatorPdu } from "./initiator.ts";
import { encodeDataIn, encodeLoginResponse, encodeScsiResponse } from "./target.ts";
import { decodeTextKeys, encodeTextKeys } from "./text_keys.ts";

const NO_DIGESTS = { header: false, data: false };

function fixture(name: string): Uint8Array {
  const text = Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));
  return Uint8Array.from(text.split(/\s+/).filter(Boolean), (h) => parseInt(h, 16));
}

Deno.test("decodeInitiatorPdu() decodes a libiscsi login request fixture", () => {
  const bytes = fixture("login_request.hex");
  const pdu = decodeInitiatorPdu(decodeFrame(bytes, NO_DIGESTS, 8192));
  assert.equal(pdu.kind, "login");
  if (pdu.kind !== "login") return;
  assert.equal(pdu.transit, true);
  assert.equal(pdu.csg, 0);
  assert.equal(pdu.nsg, 1);
  assert.deepEqual([...pdu.isid], [0x80, 0x12, 0x34, 0x56, 0x78, 0x9a]);
  assert.equal(pdu.itt, 0x11223344);
  assert.equal(pdu.cmdSN, 5);
  const keys = decodeTextKeys(pdu.data);
  assert.deepEqual(keys.find(([k]) => k === "TargetName"), ["TargetName", "iqn.2026-01.test:disk"]);
  assert.equal(keys.length, 4);
});

Deno.test("decodeInitiatorPdu() decodes a READ(10) command fixture", () => {
  const pdu = decodeInitiatorPdu(decodeFrame(fixture("scsi_read10.hex"), NO_DIGESTS, 8192));
  assert.equal(pdu.kind, "scsi");
  if (pdu.kind !== "scsi") return;
  assert.equal(pdu.read, true);
  assert.equal(pdu.write, false);
  assert.equal(pdu.lun, 0);
  assert.equal(pdu.itt, 7);
  assert.equal(pdu.edtl, 4096);
  assert.equal(pdu.cmdSN, 9);
  assert.equal(pdu.cdb[0], 0x28);
  assert.equal(pdu.cdb.length, 16);
});

Deno.test("frameLength() rejects a truncated header and an oversized data segment", () => {
  assert.throws(() => frameLength(new Uint8Array(47), NO_DIGESTS, 8192), RangeError);
  const bhs = fixture("scsi_read10.hex");
  bhs[5] = 0x01; // 65536 bytes of data
  assert.throws(() => frameLength(bhs, NO_DIGESTS, 8192), RangeError);
});

Deno.test("decodeFrame() rejects target opcodes and inconsistent lengths", () => {
  const bhs = fixture("scsi_read10.hex");
  bhs[0] = Opcode.ScsiResponse;
  assert.throws(() => decodeFrame(bhs, NO_DIGESTS, 8192), SyntaxError);
  assert.throws(() => decodeFrame(fixture("scsi_read10.hex").subarray(0, 40), NO_DIGESTS, 8192), RangeError);
});

Deno.test("decodeInitiatorPdu() rejects malformed commands", () => {
  const both = fixture("scsi_read10.hex");
  both[1] = 0x80 | 0x40 | 0x20; // R and W
  assert.throws(() => decodeInitiatorPdu(decodeFrame(both, NO_DIGESTS, 8192)), SyntaxError);
  const login = fixture("login_request.hex");
  login[1] = 0x80 | 0x40 | 0x01; // T and C together
  assert.throws(() => decodeInitiatorPdu(decodeFrame(login, NO_DIGESTS, 8192)), SyntaxError);
  const stage = fixture("login_request.hex");
  stage[1] = 0x80 | (1 << 2) | 0x00; // transit from operational back to security
  assert.throws(() => decodeInitiatorPdu(decodeFrame(stage, NO_DIGESTS, 8192)), SyntaxError);
});

Deno.test("encodeFrame() pads data and appends CRC32C digests that decodeFrame() verifies", () => {
  const bhs = new Uint8Array(BHS_LENGTH);
  bhs[0] = Opcode.NopOut | 0x40;
  bhs[1] = 0x80;
  const data = new TextEncoder().encode("ping!");
  const digests = { header: true, data: true };
  const frame = encodeFrame(bhs, data, digests);
  assert.equal(frame.length, 48 + 4 + 8 + 4);
  assert.equal(new DataView(frame.buffer).getUint32(48, true), crc32c(frame.subarray(0, 48)));
  const pdu = decodeFrame(frame, digests, 8192);
  assert.deepEqual(pdu.data, data);
  const corruptData = frame.slice();
  corruptData[53] = corruptData[53]! ^ 1;
  assert.throws(() => decodeFrame(corruptData, digests, 8192), (e) => e instanceof DigestError && e.segment === "data");
  const corruptHeader = frame.slice();
  corruptHeader[20] = corruptHeader[20]! ^ 1;
  assert.throws(
    () => decodeFrame(corruptHeader, digests, 8192),
    (e) => e instanceof DigestError && e.segment === "header",
  );
});

Deno.test("target encoders place fields where RFC 7143 puts them", () => {
  const seq = { statSN: 0x01020304, expCmdSN: 0x0a0b0c0d, maxCmdSN: 0x0a0b0c4c };
  const dataIn = encodeDataIn({
    itt: 9,
    lun: 1,
    final: true,
    dataSN: 2,
    bufferOffset: 8192,
    status: 0,
    residual: 512,
    ...seq,
  });
  assert.equal(dataIn[0], Opcode.DataIn);
  assert.equal(dataIn[1], 0x80 | 0x01 | 0x02); // F, S, U
  assert.equal(dataIn[9], 1);
  assert.deepEqual([...dataIn.subarray(24, 28)], [1, 2, 3, 4]);
  assert.equal(new DataView(dataIn.buffer).getUint32(40), 8192);
  assert.equal(new DataView(dataIn.buffer).getUint32(44), 512);
  const resp = encodeScsiResponse({ itt: 9, status: 2, residual: -100, expDataSN: 0, ...seq });
  assert.equal(resp[1], 0x80 | 0x04); // overflow
  assert.equal(resp[3], 2);
  const login = encodeLoginResponse({
    transit: true,
    csg: 1,
    nsg: 3,
    isid: new Uint8Array(6).fill(7),
    tsih: 0x1234,
    itt: 1,
    statusClass: 0,
    statusDetail: 0,
    ...seq,
  });
  assert.equal(login[1], 0x80 | (1 << 2) | 3);
  assert.equal((login[14]! << 8) | login[15]!, 0x1234);
});

Deno.test("decodeTextKeys() round-trips and rejects garbage", () => {
  const pairs: [string, string][] = [["HeaderDigest", "CRC32C,None"], ["MaxBurstLength", "262144"]];
  assert.deepEqual(decodeTextKeys(encodeTextKeys(pairs)), pairs);
  assert.throws(() => decodeTextKeys(new TextEncoder().encode("NoEquals\0")), SyntaxError);
  assert.throws(() => decodeTextKeys(new TextEncoder().encode("Bad Key=1\0")), SyntaxError);
  assert.throws(() => decodeTextKeys(Uint8Array.of(0xff, 0x3d, 0x31, 0)), SyntaxError);
});
