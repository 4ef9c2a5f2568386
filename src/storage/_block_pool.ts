/**
 * Free blocks of one size kept for reuse. A fresh block per upload is garbage that V8 frees late: with ten
 * parallel part uploads that alone grew the RSS by tens of MiB. At most `maxFree` blocks are kept; the others
 * are left to the collector.
 *
 * @module
 */

export interface BlockPool {
  /** A kept block, or a new one. */
  take(): Uint8Array<ArrayBuffer>;
  /**
   * Keeps `block` for a later `take` while fewer than `maxFree` are kept. A block of another length is dropped:
   * one detached by a failed BYOB read (its memory went to the stream) has length 0.
   */
  give(block: Uint8Array<ArrayBuffer>): void;
}

export interface BlockPoolOptions {
  blockBytes: number;
  maxFree: number;
  /** Makes a new block (default: a plain `Uint8Array`; aligned ones for direct writes). */
  allocate?: (bytes: number) => Uint8Array<ArrayBuffer>;
}

export function createBlockPool(options: BlockPoolOptions): BlockPool {
  const { blockBytes, maxFree, allocate = (bytes: number) => new Uint8Array(bytes) } = options;
  const free: Uint8Array<ArrayBuffer>[] = [];
  return {
    take: () => free.pop() ?? allocate(blockBytes),
    give(block) {
      if (block.byteLength === blockBytes && free.length < maxFree) free.push(block);
    },
  };
}
