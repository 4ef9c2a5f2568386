import assert from "node:assert/strict";
import { digestBase64 } from "../gateway/wire/checksums.ts";
import { isAppError } from "../errors.ts";
import { partChecksums } from "./_multipart.ts";

const bytes = new TextEncoder().encode("part bytes");

Deno.test("partChecksums() computes the upload's algorithm only when the client sends none of it", () => {
  const compute = (options: Parameters<typeof partChecksums>[1]) => {
    const checksums = partChecksums("crc32", options);
    checksums.update(bytes.subarray(0, 4));
    checksums.update(bytes.subarray(4));
    return checksums.result();
  };
  assert.deepEqual(compute({}), { crc32: digestBase64("crc32", bytes) }, "none sent: computed from the chunks");
  const sha = digestBase64("sha256", bytes);
  assert.throws(
    () => compute({ checksums: { sha256: sha } }),
    (err) =>
      isAppError(err, "InvalidRequest") &&
      /expected checksum Type: crc32, actual checksum Type: sha256/.test(err.message),
    "another algorithm than the upload's",
  );
  assert.throws(() => partChecksums("crc32", { pendingChecksum: "sha1" }), (err) => isAppError(err, "InvalidRequest"));
  assert.deepEqual(partChecksums(undefined, { checksums: { sha256: sha } }).result(), { sha256: sha });
  assert.deepEqual(compute({ checksums: { crc32: "AAAAAA==" } }), { crc32: "AAAAAA==" }, "sent: kept as sent");
  const late: Record<string, string> = {};
  const pending = partChecksums("crc32", { checksums: late, pendingChecksum: "crc32" });
  pending.update(bytes);
  late.crc32 = "trailer=";
  assert.deepEqual(pending.result(), { crc32: "trailer=" }, "a trailing one is read at the end, not computed");
  const unsent = partChecksums("crc32", { pendingChecksum: "crc32" });
  unsent.update(bytes);
  assert.deepEqual(unsent.result(), {}, "one the caller adds itself is not computed here");
  assert.deepEqual(partChecksums(undefined, {}).result(), {}, "an upload without an algorithm");
});
