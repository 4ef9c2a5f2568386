/**
 * RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and proof verification. Pure: no I/O and
 * no imports from the appliance, so the stand-alone verifier can use it.
 *
 * - leaf hash: SHA-256(0x00 || data); node hash: SHA-256(0x01 || left || right); empty tree: SHA-256("").
 * - Sizes and indexes are plain numbers (safe up to 2^53); bit tricks use arithmetic, not 32-bit operators.
 * - Proofs are computed from the hashes of complete subtrees (`getNode(level, index)` is the hash of leaves
 *   [index·2^level, (index+1)·2^level)), so a store that keeps those answers any proof in O(log² n) lookups.
 *
 * @module
 */
import { sha256, sha256PrefixedText } from "../sha256.ts";

export { sha256 };

export type Hash = Uint8Array;

/** A half-open leaf range [lo, hi). */
export interface Range {
  lo: number;
  hi: number;
}

/** A complete, aligned subtree: leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: number;
}

const LEAF_PREFIX = new Uint8Array([0]);
const NODE_PREFIX = new Uint8Array([1]);

export function leafHash(data: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, data);
}

/** `leafHash` of the UTF-8 encoding of `text`. */
export function leafHashText(text: string): Hash {
  return sha256PrefixedText(LEAF_PREFIX[0]!, text);
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return sha256(NODE_PREFIX, left, right);
}

export function emptyRoot(): Hash {
  return sha256();
}

/** Value of a lower-case hex digit's char code, or -1. */
function nibble(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  let bad = hex.length % 2;
  for (let i = 0; i < out.length && bad === 0; i++) {
    const hi = nibble(hex.charCodeAt(2 * i)), lo = nibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) bad = 1;
    out[i] = (hi << 4) | lo;
  }
  if (bad) throw new SyntaxError(`Cannot parse hex "${hex.slice(0, 16)}…"`);
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && splitPoint(n + 1) === n;
}

const half = (x: number) => Math.floor(x / 2);
const odd = (x: number) => x % 2 === 1;

/** The complete subtrees whose hashes determine MTH of the range (ranges as they occur in RFC 9162 proofs). */
export function rangeNodes(range: Range): NodeId[] {
  const out: NodeId[] = [];
  let { lo } = range;
  const { hi } = range;
  while (lo < hi) {
    const n = hi - lo;
    const size = isPowerOfTwo(n) ? n : splitPoint(n);
    const level = Math.log2(size);
    out.push({ level, index: lo / size });
    lo += size;
  }
  return out;
}

/** MTH of a range from complete-subtree hashes (right fold, as RFC 9162 §2.1.1 splits). */
export function rangeHash(range: Range, getNode: (level: number, index: number) => Hash): Hash {
  if (range.hi <= range.lo) return emptyRoot();
  const nodes = rangeNodes(range).map((n) => getNode(n.level, n.index));
  let acc = nodes[nodes.length - 1]!;
  for (let i = nodes.length - 2; i >= 0; i--) acc = nodeHash(nodes[i]!, acc);
  return acc;
}

/** Ranges whose MTHs form PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf side first. */
export function inclusionRanges(index: number, size: number): Range[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`Leaf index ${index} is outside a tree of size ${size}`);
  const out: Range[] = [];
  let lo = 0, hi = size;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo += k;
    }
  }
  return out.reverse();
}

/** Ranges whose MTHs form PROOF(first, D[second]) (RFC 9162 §2.1.4.1), deepest first. */
export function consistencyRanges(first: number, second: number): Range[] {
  if (!(first >= 1 && first <= second)) {
    throw new RangeError(`Consistency needs 1 ≤ first ≤ second, got ${first} and ${second}`);
  }
  const out: Range[] = [];
  let lo = 0, hi = second, m = first, complete = true;
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) out.push({ lo, hi });
  return out.reverse();
}

/** Every complete subtree a list of ranges needs, without duplicates (for one batched lookup). */
export function nodesFor(ranges: Range[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const r of ranges) for (const n of rangeNodes(r)) seen.set(`${n.level}/${n.index}`, n);
  return [...seen.values()];
}

/** RFC 9162 §2.1.3.2: does `path` prove leaf `index` (hash `leaf`) is in the tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, leaf: Hash, path: Hash[], root: Hash): boolean {
  if (!(index >= 0 && index < size)) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(r, root);
}

/** RFC 9162 §2.1.4.2: does `path` prove the tree (`first`, `firstRoot`) is a prefix of (`second`, `secondRoot`)? */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Hash,
  secondRoot: Hash,
  path: Hash[],
): boolean {
  if (first < 1 || first > second) return false;
  if (first === second) return path.length === 0 && equalBytes(firstRoot, secondRoot);
  if (path.length === 0) return false;
  const p = isPowerOfTwo(first) ? [firstRoot, ...path] : path;
  let fn = first - 1, sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = p[0]!, sr = p[0]!;
  for (const c of p.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(fr, firstRoot) && equalBytes(sr, secondRoot);
}

/**
 * Streaming tree builder over leaf hashes: keeps only the right edge ("compact range"), so an append costs
 * O(log n) and reports the complete subtrees it closed (for storage).
 */
export class TreeBuilder {
  #size = 0;
  #edge: { level: number; hash: Hash }[] = [];

  constructor(state?: { size: number; edge: Hash[] }) {
    if (!state) return;
    this.#size = state.size;
    const levels = rangeNodes({ lo: 0, hi: state.size }).map((n) => n.level);
    if (levels.length !== state.edge.length) throw new RangeError("Edge hashes do not match the tree size");
    this.#edge = levels.map((level, i) => ({ level, hash: state.edge[i]! }));
  }

  get size(): number {
    return this.#size;
  }

  /** The right-edge subtree hashes, largest first (restorable with the constructor). */
  edge(): Hash[] {
    return this.#edge.map((e) => e.hash);
  }

  /** Append a leaf hash; returns the complete subtrees of level ≥ 1 this closed. */
  push(leaf: Hash): (NodeId & { hash: Hash })[] {
    const closed: (NodeId & { hash: Hash })[] = [];
    let cur = { level: 0, hash: leaf };
    this.#size++;
    while (this.#edge.length > 0 && this.#edge[this.#edge.length - 1]!.level === cur.level) {
      const left = this.#edge.pop()!;
      cur = { level: cur.level + 1, hash: nodeHash(left.hash, cur.hash) };
      closed.push({ level: cur.level, index: this.#size / 2 ** cur.level - 1, hash: cur.hash });
    }
    this.#edge.push(cur);
    return closed;
  }

  root(): Hash {
    if (this.#edge.length === 0) return emptyRoot();
    let acc = this.#edge[this.#edge.length - 1]!.hash;
    for (let i = this.#edge.length - 2; i >= 0; i--) acc = nodeHash(this.#edge[i]!.hash, acc);
    return acc;
  }
}
