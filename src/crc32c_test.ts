import assert from "node:assert/strict";
import { crc32c } from "./crc32c.ts";

Deno.test("crc32c() matches the RFC 3720 B.4 test vectors", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

Deno.test("crc32c() continues across chunks", () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
  assert.equal(crc32c(data.subarray(300), crc32c(data.subarray(0, 300))), crc32c(data));
});
