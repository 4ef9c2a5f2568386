import assert from "node:assert/strict";
import { digestBase64 } from "../gateway/wire/checksums.ts";
import { type CombinableAlgorithm, combineCrcs } from "./_crc_combine.ts";
import { bytes } from "./_testing/contract_helpers.ts";

const ALGORITHMS: CombinableAlgorithm[] = ["crc32", "crc32c", "crc64nvme"];

Deno.test("combineCrcs: the CRC of the pieces' concatenation, for every split, empty pieces included", () => {
  const data = bytes(10_000, 7);
  const splits = [[10_000], [1, 9_999], [0, 5_000, 0, 5_000], [3_333, 3_333, 3_334], [8, 8, 9_984]];
  for (const algorithm of ALGORITHMS) {
    const whole = digestBase64(algorithm, data);
    for (const sizes of splits) {
      let at = 0;
      const pieces = sizes.map((size) => {
        const piece = { crc: digestBase64(algorithm, data.subarray(at, at + size)), size };
        at += size;
        return piece;
      });
      assert.equal(combineCrcs(algorithm, pieces), whole, `${algorithm} over ${sizes.join("+")}`);
    }
    assert.equal(combineCrcs(algorithm, []), digestBase64(algorithm, new Uint8Array(0)), `${algorithm} of nothing`);
  }
});

Deno.test("combineCrcs: parts of S3's sizes (5 MiB and more) combine without their bytes", () => {
  const part = 5 * 1024 * 1024;
  const data = bytes(2 * part + 123, 3);
  for (const algorithm of ALGORITHMS) {
    const pieces = [data.subarray(0, part), data.subarray(part, 2 * part), data.subarray(2 * part)].map((p) => ({
      crc: digestBase64(algorithm, p),
      size: p.byteLength,
    }));
    assert.equal(combineCrcs(algorithm, pieces), digestBase64(algorithm, data), algorithm);
  }
});
