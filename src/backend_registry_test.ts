import assert from "node:assert/strict";
import { createBackendRegistry } from "./backend_registry.ts";
import { isAppError } from "./errors.ts";
import { createFsStore } from "./storage/fs.ts";
import { createMemoryStore } from "./storage/memory.ts";
import { streamOf } from "./storage/_testing/contract_helpers.ts";

Deno.test("a backend kept from the registry follows a replaced config to the new store, and fails once removed", async () => {
  const root = await Deno.makeTempDir({ prefix: "backend-registry-" });
  const backends = createBackendRegistry();
  try {
    const first = createMemoryStore();
    await first.createBucket("kept");
    await backends.set("local", first);
    const kept = backends.get("local");
    assert.equal(kept.kind, "memory");
    assert.equal(kept.capacity, undefined);

    // The config changes: the old store is closed and a new one takes its place under the same id.
    const replacement = await createFsStore({ root, minFreeBytes: 0 });
    await replacement.createBucket("kept");
    await backends.set("local", replacement);
    assert.equal(kept.kind, "fs");
    await kept.putObject("kept", "after-change", streamOf(new TextEncoder().encode("still served")));
    assert.equal((await replacement.headObject("kept", "after-change")).size, 12);
    await assert.rejects(first.headObject("kept", "after-change"), (err) => isAppError(err, "NoSuchKey"));
    assert.ok(kept.capacity!().totalBytes > 0);

    await backends.remove("local");
    await assert.rejects(async () => await kept.listBuckets(), (err) => isAppError(err, "NotFound"));
    assert.throws(() => backends.get("local"), (err) => isAppError(err, "NotFound"));
  } finally {
    await backends.close();
    await Deno.remove(root, { recursive: true });
  }
});
