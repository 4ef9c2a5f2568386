import assert, { deepEqual } from "node:assert/strict";
import { concatBytes, hasBeyondAscii, textOfUtf8ByteString, utf8ByteString } from "./bytes.ts";

Deno.test("concatBytes() joins parts in order after the reserved header bytes", () => {
  const a = Uint8Array.of(1, 2);
  const b = Uint8Array.of(3);
  deepEqual(concatBytes([a, b]), Uint8Array.of(1, 2, 3));
  deepEqual(concatBytes([a, new Uint8Array(0), b], { offset: 2 }), Uint8Array.of(0, 0, 1, 2, 3));
  deepEqual(concatBytes([]), new Uint8Array(0));
});

Deno.test("byte strings: a text's UTF-8 as a character per byte, and back; none for bytes that are not UTF-8", () => {
  assert.equal(utf8ByteString("Zürich"), "Z\u00c3\u00bcrich");
  assert.equal(utf8ByteString("plain"), "plain");
  assert.equal(textOfUtf8ByteString("Z\u00c3\u00bcrich"), "Zürich");
  assert.equal(textOfUtf8ByteString("plain"), "plain");
  assert.equal(textOfUtf8ByteString("Z\u00fcrich"), undefined, "a lone 0xFC is not UTF-8");
  assert.equal(textOfUtf8ByteString("\u20ac"), undefined, "a character beyond a byte is no byte string");
  assert.ok(hasBeyondAscii("é") && !hasBeyondAscii("e"));
});
