/**
 * Recompute a journal's hash chain and Merkle tree from its records, in order, and name what is wrong. Pure
 * (hashing and record decoding only): the service's verifier and the stand-alone verifier both use it.
 *
 * Rules, at position j (the j-th row in stored order), with `expected` the seq the chain expects there:
 * - the record's `seq` differs from `expected` → "sequence" (a record deleted, inserted or moved); the bad seq
 *   is min(expected, found) and the checker re-synchronises on the found record;
 * - its `prev` is not the hash of the previous row → "link": the previous record's content no longer matches
 *   the hash its successor committed to, so the previous seq is named;
 * - the stored hash (a cache) or an anchored leaf hash differs from the recomputed one → that seq is named;
 * - the tree root at a checkpoint's size differs from the signed root → "checkpoint", which proves something in
 *   [last matching checkpoint, size) changed; a checkpoint larger than the journal → "truncated".
 * `firstBadSeq` is the smallest precisely named seq, or else the start of the first unproven range.
 *
 * @module
 */
import { equalBytes, type Hash, leafHashText, TreeBuilder } from "./merkle.ts";
import { decodeRecord, GENESIS_PREV } from "./record_codec.ts";

export type ProblemKind =
  | "malformed"
  | "sequence"
  | "link"
  | "stored-hash"
  | "anchored-leaf"
  | "checkpoint"
  | "truncated";

export interface Problem {
  kind: ProblemKind;
  /** The first sequence number this problem concerns. */
  seq: number;
  message: string;
}

export interface CheckpointRef {
  size: number;
  rootHash: Hash;
  /** Where the checkpoint came from, e.g. "anchor" or "database". */
  source: string;
}

export interface CheckResult {
  ok: boolean;
  size: number;
  rootHash: Hash;
  firstBadSeq?: number;
  problems: Problem[];
  /** Problems found, including those beyond `problems` (which keeps the first 100). */
  problemCount: number;
  checkpointsMatched: number;
  /** Largest checkpoint size whose root matched: records below it are proven. */
  provenSize: number;
}

const MAX_PROBLEMS = 100;

export class JournalChecker {
  #tree = new TreeBuilder();
  #prev = GENESIS_PREV;
  #shift = 0;
  #checkpoints: CheckpointRef[];
  #next = 0;
  #problems: Problem[] = [];
  #count = 0;
  #precise = Infinity;
  #matched = 0;
  #proven = 0;
  #expectedLeaf: (seq: number) => Uint8Array | undefined;

  /**
   * @param checkpoints signed roots to compare with (any order, duplicates allowed)
   * @param expectedLeaf leaf hashes known from outside the database (anchored), by seq
   */
  constructor(checkpoints: CheckpointRef[], expectedLeaf: (seq: number) => Uint8Array | undefined = () => undefined) {
    this.#checkpoints = [...checkpoints].sort((a, b) => a.size - b.size);
    this.#expectedLeaf = expectedLeaf;
    this.#compareCheckpoints();
  }

  #report(kind: ProblemKind, seq: number, message: string, precise = true): void {
    this.#count++;
    if (precise) this.#precise = Math.min(this.#precise, seq);
    if (this.#problems.length < MAX_PROBLEMS) this.#problems.push({ kind, seq, message });
  }

  /** Feed the next stored row: the record's text and, when the store keeps one, its cached hash (hex). */
  add(data: string, storedHash?: string): void {
    const pos = this.#tree.size;
    const expected = pos + this.#shift;
    const hash = leafHashText(data);
    const hex = hash.toHex();
    try {
      const record = decodeRecord(data);
      if (record.seq !== expected) {
        this.#report(
          "sequence",
          Math.min(expected, record.seq),
          `Expected record ${expected} but found record ${record.seq} (deleted, inserted or reordered records)`,
        );
        this.#shift = record.seq - pos;
      } else if (record.prev !== this.#prev) {
        const seq = Math.max(0, expected - 1);
        this.#report("link", seq, `Record ${seq} does not match the hash that record ${expected} committed to`);
      }
    } catch (err) {
      this.#report("malformed", expected, `Record ${expected} is malformed: ${(err as Error).message}`);
    }
    if (storedHash !== undefined && storedHash !== hex) {
      this.#report("stored-hash", expected, `Record ${expected} does not match its stored hash`);
    }
    const anchored = this.#expectedLeaf(pos);
    if (anchored && !equalBytes(anchored, hash)) {
      this.#report("anchored-leaf", pos, `Record ${pos} differs from the leaf hash anchored outside the database`);
    }
    this.#prev = hex;
    this.#tree.push(hash);
    this.#compareCheckpoints();
  }

  #compareCheckpoints(): void {
    const size = this.#tree.size;
    while (this.#next < this.#checkpoints.length && this.#checkpoints[this.#next]!.size <= size) {
      const cp = this.#checkpoints[this.#next++]!;
      if (cp.size < size) continue;
      if (equalBytes(this.#tree.root(), cp.rootHash)) {
        this.#matched++;
        this.#proven = Math.max(this.#proven, cp.size);
      } else {
        this.#report(
          "checkpoint",
          this.#proven,
          `Tree of size ${cp.size} does not match the ${cp.source} checkpoint: records ${this.#proven}..${
            cp.size - 1
          } are not the ones signed`,
          false,
        );
      }
    }
  }

  finish(): CheckResult {
    const size = this.#tree.size;
    for (const cp of this.#checkpoints.slice(this.#next)) {
      this.#report(
        "truncated",
        size,
        `Journal ends at ${size} records but a ${cp.source} checkpoint covers ${cp.size}: records ${size}..${
          cp.size - 1
        } are missing`,
      );
    }
    this.#next = this.#checkpoints.length;
    const firstRange = this.#problems.filter((p) => p.kind === "checkpoint").map((p) => p.seq);
    const first = Number.isFinite(this.#precise)
      ? this.#precise
      : firstRange.length
      ? Math.min(...firstRange)
      : undefined;
    return {
      ok: this.#count === 0,
      size,
      rootHash: this.#tree.root(),
      firstBadSeq: first,
      problems: this.#problems,
      problemCount: this.#count,
      checkpointsMatched: this.#matched,
      provenSize: this.#proven,
    };
  }
}
