import assert from "node:assert/strict";
import { createMemoryStore } from "../storage/memory.ts";
import { createMemoryBucketConfigStore } from "./bucket_config.ts";
import type { CorsRule } from "./cors.ts";

const RULES: CorsRule[] = [{ allowedOrigins: ["*"], allowedMethods: ["GET"], allowedHeaders: [], exposeHeaders: [] }];

Deno.test("memory bucket settings: they need an existing bucket and go with it", async () => {
  const store = createMemoryStore();
  const config = createMemoryBucketConfigStore(store);
  await assert.rejects(config.setConfig("nope", "cors", RULES), /does not exist/);
  await store.createBucket("web");
  assert.equal(await config.configOf("web", "cors"), undefined);
  await config.setConfig("web", "cors", RULES);
  await config.setConfig("web", "lifecycle", [{ enabled: true, prefix: "tmp/", expiration: { days: 1 } }]);
  assert.deepEqual(await config.configOf("web", "cors"), RULES);
  await config.setConfig("web", "lifecycle", undefined);
  assert.equal(await config.configOf("web", "lifecycle"), undefined, "one setting removed, the other kept");
  assert.deepEqual(await config.configOf("web", "cors"), RULES);
  await store.deleteBucket("web");
  await assert.rejects(Promise.resolve(config.configOf("web", "cors")), /does not exist/);
  await new Promise((resolve) => setTimeout(resolve, 2)); // a later creation time
  await store.createBucket("web");
  assert.equal(await config.configOf("web", "cors"), undefined, "a bucket created again starts without the old rules");
});
