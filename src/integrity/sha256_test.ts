import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256 } from "./sha256.ts";
import { toHex } from "./merkle.ts";

Deno.test("sha256 matches node:crypto for every length 0..300 and across block boundaries of split input", () => {
  const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
  for (let n = 0; n <= 300; n++) {
    const msg = data.subarray(0, n);
    const want = createHash("sha256").update(msg).digest("hex");
    assert.equal(toHex(sha256(msg)), want, `length ${n}`);
    const cut = Math.floor(n / 3);
    assert.equal(toHex(sha256(msg.subarray(0, cut), msg.subarray(cut))), want, `length ${n} in two parts`);
  }
});

Deno.test("sha256 of a 1 MiB input and the FIPS 180-4 'abc' vector", () => {
  const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  assert.equal(toHex(sha256(big)), createHash("sha256").update(big).digest("hex"));
  assert.equal(
    toHex(sha256(new TextEncoder().encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});
