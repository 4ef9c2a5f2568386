import assert from "node:assert/strict";
import { createMemoryStore } from "../storage/memory.ts";
import { createCountingStore } from "./counting_store.ts";

function body(text: string): ReadableStream<Uint8Array> {
  return ReadableStream.from([new TextEncoder().encode(text)]);
}

Deno.test("createCountingStore() counts each call by operation and passes results through", async () => {
  const store = createCountingStore(createMemoryStore());
  await store.createBucket("bkt");
  const put = await store.putObject("bkt", "k", body("hello"));
  const head = await store.headObject("bkt", "k");
  assert.equal(head.etag, put.etag);
  await store.listObjects("bkt");
  await store.listObjects("bkt", { prefix: "k" });
  assert.deepEqual(store.counts, { createBucket: 1, putObject: 1, headObject: 1, listObjects: 2 });
  assert.equal(store.total(), 5);
  await assert.rejects(store.headObject("bkt", "missing"), { code: "NoSuchKey" });
  assert.equal(store.counts.headObject, 2);
  store.reset();
  assert.equal(store.total(), 0);
  assert.equal(store.kind, "memory");
});
