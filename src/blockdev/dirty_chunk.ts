/**
 * Unflushed writes of one chunk, kept at block granularity so that writes never need the chunk's current
 * contents from the bucket (writes keep working while the backend is down). Flushing merges them onto the
 * base chunk; a base read is needed only when the chunk is partially written and not trimmed.
 *
 * @module
 */

export class DirtyChunk {
  /** Written bytes (only blocks marked in `#valid` mean anything); allocated on first write. */
  #data: Uint8Array | undefined;
  #valid: Uint8Array;
  #validCount = 0;
  /** The whole chunk was deallocated: the base is zeros, not the committed chunk object. */
  trimmed = false;
  /** Oldest journal record not yet in the bucket / newest record applied. */
  firstSeq: number;
  lastSeq: number;
  /** When it was last changed (ms, monotonic), for write coalescing. */
  touchedAt: number;

  constructor(readonly chunkSize: number, readonly blockSize: number, seq: number, now: number) {
    this.#valid = new Uint8Array(chunkSize / blockSize);
    this.firstSeq = seq;
    this.lastSeq = seq;
    this.touchedAt = now;
  }

  /** True when reading [start, end) needs no base data. */
  covers(start: number, end: number): boolean {
    if (this.trimmed) return true;
    for (let b = start / this.blockSize; b < end / this.blockSize; b++) if (!this.#valid[b]) return false;
    return true;
  }

  /** Memory held for unflushed data. */
  get bytes(): number {
    return this.#data ? this.chunkSize : 0;
  }

  get complete(): boolean {
    return this.trimmed || this.#validCount === this.#valid.length;
  }

  /** Nothing but a whole-chunk trim: flushing deletes the chunk map entry. */
  get emptyTrim(): boolean {
    return this.trimmed && this.#validCount === 0;
  }

  write(at: number, data: Uint8Array, seq: number, now: number): void {
    this.#data ??= new Uint8Array(this.chunkSize);
    this.#data.set(data, at);
    this.#mark(at, at + data.length);
    this.#touch(seq, now);
  }

  zero(at: number, length: number, seq: number, now: number): void {
    this.#data ??= new Uint8Array(this.chunkSize);
    this.#data.fill(0, at, at + length);
    this.#mark(at, at + length);
    this.#touch(seq, now);
  }

  trim(seq: number, now: number): void {
    this.#data = undefined;
    this.#valid.fill(0);
    this.#validCount = 0;
    this.trimmed = true;
    this.#touch(seq, now);
  }

  /** Overlay the written blocks of [start, end) onto `target` (which holds the base bytes of that range). */
  applyTo(target: Uint8Array, start: number, end: number): void {
    if (this.trimmed) target.fill(0);
    if (!this.#data) return;
    const bs = this.blockSize;
    let b = start / bs;
    const last = end / bs;
    while (b < last) {
      if (!this.#valid[b]) {
        b++;
        continue;
      }
      let run = b;
      while (run < last && this.#valid[run]) run++;
      target.set(this.#data.subarray(b * bs, run * bs), b * bs - start);
      b = run;
    }
  }

  #mark(start: number, end: number): void {
    for (let b = start / this.blockSize; b < end / this.blockSize; b++) {
      if (!this.#valid[b]) {
        this.#valid[b] = 1;
        this.#validCount++;
      }
    }
  }

  #touch(seq: number, now: number): void {
    this.lastSeq = seq;
    this.touchedAt = now;
  }
}
