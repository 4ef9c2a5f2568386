import { deepEqual } from "node:assert/strict";
import { concatBytes } from "./bytes.ts";

Deno.test("concatBytes() joins parts in order after the reserved header bytes", () => {
  const a = Uint8Array.of(1, 2);
  const b = Uint8Array.of(3);
  deepEqual(concatBytes([a, b]), Uint8Array.of(1, 2, 3));
  deepEqual(concatBytes([a, new Uint8Array(0), b], { offset: 2 }), Uint8Array.of(0, 0, 1, 2, 3));
  deepEqual(concatBytes([]), new Uint8Array(0));
});
