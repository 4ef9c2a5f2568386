/**
 * A bucket's listings as one sequence each, page by page of the backend's answers: every object under a prefix
 * (1,000 keys a request), every multipart upload in progress under a prefix.
 *
 * @module
 */
import type { MultipartUpload, ObjectInfo, ObjectStore } from "./mod.ts";

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

/** The next page is asked for after the consumer has taken this one, so it may abort the uploads it is given. */
export async function* walkUploads(
  store: Pick<ObjectStore, "listMultipartUploads">,
  bucket: string,
  prefix = "",
): AsyncGenerator<MultipartUpload> {
  let markers: { keyMarker: string; uploadIdMarker: string } | undefined;
  for (;;) {
    const page = await store.listMultipartUploads(bucket, { ...(prefix ? { prefix } : {}), ...markers });
    yield* page.uploads;
    const last = page.uploads.at(-1);
    if (!page.isTruncated || !last) return;
    markers = { keyMarker: last.key, uploadIdMarker: last.uploadId };
  }
}
