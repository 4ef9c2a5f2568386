/**
 * Every object under a prefix, page by page of the backend's listing (1,000 keys a request), as one sequence.
 *
 * @module
 */
import type { ObjectInfo, ObjectStore } from "./mod.ts";

export async function* walkObjects(
  store: Pick<ObjectStore, "listObjects">,
  bucket: string,
  prefix = "",
): AsyncGenerator<ObjectInfo> {
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.listObjects(bucket, { prefix, ...(startAfter ? { startAfter } : {}), maxKeys: 1000 });
    yield* page.objects;
    if (!page.isTruncated || !page.nextStartAfter) return;
    startAfter = page.nextStartAfter;
  }
}
