import assert from "node:assert/strict";
import { createCrc32, createCrc32c, createCrc64Nvme } from "./crc.ts";

const CHECK = new TextEncoder().encode("123456789");

function hexOf(make: typeof createCrc32, ...parts: Uint8Array[]): string {
  const c = make();
  for (const p of parts) c.update(p);
  return c.digest().toHex();
}

Deno.test('CRC check values from the CRC catalogue ("123456789")', () => {
  assert.equal(hexOf(createCrc32, CHECK), "cbf43926");
  assert.equal(hexOf(createCrc32c, CHECK), "e3069283");
  assert.equal(hexOf(createCrc64Nvme, CHECK), "ae8b14860a799888");
});

Deno.test("CRC of empty input is zero", () => {
  assert.equal(hexOf(createCrc32), "00000000");
  assert.equal(hexOf(createCrc32c), "00000000");
  assert.equal(hexOf(createCrc64Nvme), "0000000000000000");
});

Deno.test("CRC32C RFC 3720 B.4 vectors: 32 zero bytes and 32 0xFF bytes", () => {
  assert.equal(hexOf(createCrc32c, new Uint8Array(32)), "8a9136aa");
  assert.equal(hexOf(createCrc32c, new Uint8Array(32).fill(0xff)), "62a8ab43");
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(hexOf(createCrc32c, ascending), "46dd794e");
});

Deno.test("CRC incremental updates equal one-shot for every split point", () => {
  const data = Uint8Array.from({ length: 67 }, (_, i) => (i * 37 + 11) & 0xff);
  for (const make of [createCrc32, createCrc32c, createCrc64Nvme]) {
    const whole = hexOf(make, data);
    for (let cut = 0; cut <= data.length; cut++) {
      assert.equal(hexOf(make, data.subarray(0, cut), data.subarray(cut)), whole);
    }
  }
});
