/**
 * Worker side of `_fs_md5.ts`: MD5 contexts by id. Each block is hashed, then sent back (transferred) for reuse.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createHash, type Hash } from "node:crypto";

/** `length`: how much of `block` to hash (default all). */
export type Md5Request = {
  id: number;
  block?: Uint8Array<ArrayBuffer>;
  length?: number;
  end?: boolean;
  drop?: boolean;
};
export type Md5Reply = { id: number; block?: Uint8Array<ArrayBuffer>; hex?: string };

const hashes = new Map<number, Hash>();

self.onmessage = (e: MessageEvent<Md5Request>) => {
  const { id, block, length, end, drop } = e.data;
  if (drop) {
    hashes.delete(id);
    return;
  }
  let hash = hashes.get(id);
  if (!hash) hashes.set(id, hash = createHash("md5"));
  if (block) {
    hash.update(length === undefined ? block : block.subarray(0, length));
    self.postMessage({ id, block } satisfies Md5Reply, [block.buffer]);
  }
  if (end) {
    hashes.delete(id);
    self.postMessage({ id, hex: hash.digest("hex") } satisfies Md5Reply);
  }
};
