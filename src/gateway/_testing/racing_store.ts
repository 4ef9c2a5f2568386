/**
 * A memory store in which another client's write lands at the worst moment: once armed, the next `headObject` of
 * `key` returns what it read and then replaces the object with `newer`, as a write arriving between a request's
 * checks (conditions, range) and its read or copy would.
 *
 * @module
 */
import { createMemoryStore } from "../../storage/memory.ts";
import type { ObjectStore } from "../../storage/mod.ts";

export function racingStore(key: string, newer: Uint8Array): { store: ObjectStore; arm(): void } {
  const store = createMemoryStore();
  let armed = false;
  const racing = Object.create(store) as ObjectStore;
  racing.headObject = async (bucket, name) => {
    const info = await store.headObject(bucket, name);
    if (name === key && armed) {
      armed = false;
      await store.putObject(bucket, name, ReadableStream.from([newer]));
    }
    return info;
  };
  return { store: racing, arm: () => armed = true };
}
