import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { hmacSha256, sha256, sha256PrefixedText } from "./sha256.ts";

Deno.test("sha256 matches node:crypto for every length 0..300 and across block boundaries of split input", () => {
  const data = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
  for (let n = 0; n <= 300; n++) {
    const msg = data.subarray(0, n);
    const want = createHash("sha256").update(msg).digest("hex");
    assert.equal(sha256(msg).toHex(), want, `length ${n}`);
    const cut = Math.floor(n / 3);
    assert.equal(sha256(msg.subarray(0, cut), msg.subarray(cut)).toHex(), want, `length ${n} in two parts`);
  }
});

Deno.test("sha256 of a 1 MiB input and the FIPS 180-4 'abc' vector", () => {
  const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  assert.equal(sha256(big).toHex(), createHash("sha256").update(big).digest("hex"));
  assert.equal(
    sha256(new TextEncoder().encode("abc")).toHex(),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("sha256PrefixedText equals sha256 of the prefix byte and the UTF-8 text, short, multi-byte and long", () => {
  const enc = new TextEncoder();
  const texts = [
    "",
    "a",
    "x".repeat(54),
    "x".repeat(55),
    'é€😀\u0000"\\',
    "ü".repeat(700),
    "y".repeat(1400),
    "z".repeat(5000),
  ];
  for (const text of texts) {
    for (const prefix of [0, 1, 255]) {
      const want = createHash("sha256").update(new Uint8Array([prefix])).update(enc.encode(text)).digest("hex");
      assert.equal(sha256PrefixedText(prefix, text).toHex(), want, `${text.slice(0, 8)}… (${text.length}), ${prefix}`);
    }
  }
});

Deno.test("hmacSha256 matches node:crypto's HMAC for short, block-sized, hashed-down keys and texts of every shape", () => {
  const keys = [new Uint8Array(0), new Uint8Array(32).fill(7), new Uint8Array(64).fill(9), new Uint8Array(100).fill(3)];
  const texts = ["", "abc", "x".repeat(55), "x".repeat(56), "y".repeat(119), 'é€😀\u0000"\\', "z".repeat(5000)];
  for (const key of keys) {
    const mac = hmacSha256(key);
    for (const text of texts) {
      const want = createHmac("sha256", key).update(text).digest("hex");
      assert.equal(mac(text).toHex(), want, `key ${key.length}, text ${text.slice(0, 8)}… (${text.length})`);
    }
  }
});

Deno.test("hmacSha256 RFC 4231 test case 2", () => {
  const mac = hmacSha256(new TextEncoder().encode("Jefe"));
  assert.equal(
    mac("what do ya want for nothing?").toHex(),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});
