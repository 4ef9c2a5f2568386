/**
 * A gateway over a memory store in which another client's write lands at the worst moment: `putOlder()` stores the
 * older body and arms the store so that the next `headObject` of the key returns what it read and then replaces the
 * object with the newer body, as a write arriving between a request's checks (conditions, range) and its read or copy
 * would.
 *
 * @module
 */
import { createMemoryStore } from "../../storage/memory.ts";
import type { ObjectStore } from "../../storage/mod.ts";
import { createHarness, type Harness } from "./harness.ts";

export async function racingHarness(
  bucket: string,
  key: string,
  bodies: { older: string; newer: string },
): Promise<{ h: Harness; putOlder(): Promise<string> }> {
  const store = createMemoryStore();
  let armed = false;
  const racing = Object.create(store) as ObjectStore;
  racing.headObject = async (b, k) => {
    const info = await store.headObject(b, k);
    if (k === key && armed) {
      armed = false;
      await store.putObject(b, k, ReadableStream.from([new TextEncoder().encode(bodies.newer)]));
    }
    return info;
  };
  const h = createHarness({ store: racing });
  await h.request({ method: "PUT", path: `/${bucket}` });
  /** Stores the older body, arms the racing write and returns the older version's ETag. */
  async function putOlder(): Promise<string> {
    await h.request({ method: "PUT", path: `/${bucket}/${key}`, body: bodies.older });
    const etag = (await h.request({ method: "HEAD", path: `/${bucket}/${key}` })).headers.get("etag")!;
    armed = true;
    return etag;
  }
  return { h, putOlder };
}
