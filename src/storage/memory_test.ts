import assert from "node:assert/strict";
import { fakeClock } from "../clock.ts";
import { createMemoryStore } from "./memory.ts";
import { objectStoreContract } from "./_testing/object_store_contract.ts";
import { put } from "./_testing/contract_helpers.ts";

objectStoreContract("memory", () => Promise.resolve({ store: createMemoryStore(), cleanup: () => Promise.resolve() }));

Deno.test("createMemoryStore() stamps objects and buckets with the injected clock", async () => {
  const clock = fakeClock(new Date("2030-05-06T07:08:09Z"));
  const store = createMemoryStore({ clock });
  await store.createBucket("clocked");
  clock.advance(5000);
  const info = await put(store, "clocked", "k", "v");
  assert.equal((await store.headBucket("clocked")).createdAt.toISOString(), "2030-05-06T07:08:09.000Z");
  assert.equal(info.lastModified.toISOString(), "2030-05-06T07:08:14.000Z");
});
