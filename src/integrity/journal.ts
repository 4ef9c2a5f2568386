/**
 * The journal store: records hash-chained and appended as leaves of an RFC 9162 Merkle tree, in the database.
 *
 * Tables: `integrity_records`, `integrity_nodes` (src/db/schema.ts). Hot paths use the libsql client directly
 * (multi-row inserts, `group_concat` scans): the query builder costs more than the database here.
 *
 * Each batch is one transaction: the records (with their leaf hashes) plus the hashes of the complete subtrees
 * of level ≥ 6 (64 records and more) the batch closed. The smaller subtrees are not stored (they would be one
 * row per record): a proof recomputes the ones it needs from the leaf hashes of at most 64 consecutive records
 * per 64-record block it touches. So an append costs O(log n) hashes and about 1/32 of a node row per record,
 * and any proof reads O(log² n) stored hashes plus a few leaf blocks. The right edge of the tree and the last
 * hash are kept in memory and rebuilt the same way at open.
 *
 * @module
 */
import type { Client, InStatement } from "@libsql/client";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import {
  consistencyRanges,
  fromHex,
  type Hash,
  inclusionRanges,
  leafHashText,
  nodeHash,
  type NodeId,
  nodesFor,
  type Range,
  rangeHash,
  rangeNodes,
  TreeBuilder,
} from "./merkle.ts";
import { encodeEntry, GENESIS_PREV, type RecordBody } from "./record_codec.ts";

export interface StoredRecord {
  seq: number;
  data: string;
  hash: string;
}

export interface ScanPage {
  seqs: number[];
  data: string[];
  hashes: string[];
  lastSeq: number;
}

export interface JournalStore {
  /** Records committed so far. */
  size(): number;
  root(): Hash;
  /** Append in one transaction; on failure nothing is kept (in the db or in memory). */
  append(bodies: RecordBody[]): Promise<StoredRecord[]>;
  records(from: number, limit: number): Promise<StoredRecord[]>;
  /**
   * Raw rows in seq order after `afterSeq` (for verification: no checks, gaps and oddities included).
   * `lastSeq` is the stored seq of the last row, to pass as the next `afterSeq`.
   */
  scan(afterSeq: number, limit: number): Promise<ScanPage>;
  /** Stored leaf hashes of records [from, to), 32 bytes each. */
  leafHashes(from: number, to: number): Promise<Uint8Array>;
  rootAt(size: number): Promise<Hash>;
  inclusionProof(seq: number, size: number): Promise<Hash[]>;
  consistencyProof(first: number, second: number): Promise<Hash[]>;
}

const ROWS_PER_INSERT = 1000;
/** Subtrees of lower levels are recomputed from leaf hashes instead of stored. */
const STORED_LEVEL = 6;
const BLOCK = 2 ** STORED_LEVEL;

function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

export async function openJournalStore(db: Db): Promise<JournalStore> {
  // drizzle's libsql database carries its client; the shared `Db` alias leaves it out of the type.
  const sql = (db as Db & { $client: Client }).$client;

  /** Leaf hashes of records [lo, hi), all of which must exist. */
  async function leafRange(lo: number, hi: number): Promise<Uint8Array> {
    // One row for the range, not one per record (a row object costs more than its hash). sqld's parser refuses an
    // ORDER BY inside group_concat, so each hash is put at its seq's place instead of trusting the order.
    const rs = await sql.execute({
      sql: `SELECT group_concat(seq, ',') AS s, group_concat(hash, '') AS h
              FROM integrity_records WHERE seq >= ? AND seq < ?`,
      args: [lo, hi],
    });
    const seqs = rs.rows[0]?.s == null ? [] : String(rs.rows[0].s).split(",").map(Number);
    const hex = String(rs.rows[0]?.h ?? "");
    if (seqs.length !== hi - lo || hex.length !== seqs.length * 64) {
      throw new AppError("Integrity", `Leaf hashes ${lo}..${hi} are incomplete`);
    }
    const hashes = fromHex(hex);
    const leaves = new Uint8Array(hashes.byteLength);
    seqs.forEach((seq, i) => leaves.set(hashes.subarray(i * 32, i * 32 + 32), (seq - lo) * 32));
    return leaves;
  }

  /** Stored nodes from `integrity_nodes`; lower ones recomputed from the leaf hashes of their 64-record blocks. */
  async function fetchNodes(ids: NodeId[]): Promise<Map<string, Hash>> {
    const map = new Map<string, Hash>();
    const stored = ids.filter((n) => n.level >= STORED_LEVEL);
    for (const part of chunks(stored, 400)) {
      const rs = await sql.execute({
        sql: `SELECT level, idx, hash FROM integrity_nodes WHERE (level, idx) IN (VALUES ${
          part.map(() => "(?,?)").join(",")
        })`,
        args: part.flatMap((n) => [n.level, n.index]),
      });
      for (const r of rs.rows) map.set(`${r.level}/${r.idx}`, fromHex(String(r.hash)));
    }
    const blocks = new Map<number, { lo: number; hi: number; nodes: NodeId[] }>();
    for (const n of ids) {
      if (n.level >= STORED_LEVEL) continue;
      const lo = n.index * 2 ** n.level, hi = lo + 2 ** n.level;
      const b = blocks.get(Math.floor(lo / BLOCK)) ?? { lo, hi, nodes: [] };
      b.lo = Math.min(b.lo, lo);
      b.hi = Math.max(b.hi, hi);
      b.nodes.push(n);
      blocks.set(Math.floor(lo / BLOCK), b);
    }
    for (const b of blocks.values()) {
      const leaves = await leafRange(b.lo, b.hi);
      const subtree = (lo: number, width: number): Hash =>
        width === 1
          ? leaves.subarray((lo - b.lo) * 32, (lo - b.lo) * 32 + 32)
          : nodeHash(subtree(lo, width / 2), subtree(lo + width / 2, width / 2));
      for (const n of b.nodes) map.set(`${n.level}/${n.index}`, subtree(n.index * 2 ** n.level, 2 ** n.level));
    }
    return map;
  }

  async function hashes(ranges: Range[]): Promise<Hash[]> {
    const map = await fetchNodes(nodesFor(ranges));
    return ranges.map((r) =>
      rangeHash(r, (level, index) => {
        const h = map.get(`${level}/${index}`);
        if (!h) throw new AppError("Integrity", `Tree node ${level}/${index} is missing from the database`);
        return h;
      })
    );
  }

  const top = await sql.execute("SELECT max(seq) AS last FROM integrity_records");
  const last = top.rows[0]?.last;
  const size = last === null || last === undefined ? 0 : Number(last) + 1;
  const edgeRanges = rangeNodes({ lo: 0, hi: size }).map((n) => ({
    lo: n.index * 2 ** n.level,
    hi: (n.index + 1) * 2 ** n.level,
  }));
  let tree = new TreeBuilder({ size, edge: await hashes(edgeRanges) });
  let head = size === 0 ? GENESIS_PREV : (await hashes([{ lo: size - 1, hi: size }]))[0]!.toHex();

  function checkSize(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > tree.size) {
      throw new AppError("InvalidArgument", `${what} ${n} is outside the journal (size ${tree.size})`);
    }
  }

  /** Multi-row INSERTs of three columns; `args` holds the rows' values one after another. */
  function inserts(table: string, columns: string, args: (string | number)[]): InStatement[] {
    const out: InStatement[] = [];
    for (let i = 0; i < args.length; i += 3 * ROWS_PER_INSERT) {
      const part = args.slice(i, i + 3 * ROWS_PER_INSERT);
      out.push({
        sql: `INSERT INTO ${table} (${columns}) VALUES ${"(?,?,?),".repeat(part.length / 3 - 1)}(?,?,?)`,
        args: part,
      });
    }
    return out;
  }

  async function records(from: number, limit: number): Promise<StoredRecord[]> {
    const rs = await sql.execute({
      sql: "SELECT seq, data, hash FROM integrity_records WHERE seq >= ? ORDER BY seq LIMIT ?",
      args: [from, limit],
    });
    return rs.rows.map((r) => ({ seq: Number(r.seq), data: String(r.data), hash: String(r.hash) }));
  }

  return {
    size: () => tree.size,
    records,
    root: () => tree.root(),

    async append(bodies) {
      const working = new TreeBuilder({ size: tree.size, edge: tree.edge() });
      const records: StoredRecord[] = [];
      const recordArgs: (string | number)[] = [];
      const nodeArgs: (string | number)[] = [];
      let prev = head;
      for (const body of bodies) {
        const seq = working.size;
        const data = encodeEntry(body, seq, prev);
        const hash = leafHashText(data);
        for (const n of working.push(hash)) {
          if (n.level >= STORED_LEVEL) nodeArgs.push(n.level, n.index, n.hash.toHex());
        }
        prev = hash.toHex();
        records.push({ seq, data, hash: prev });
        recordArgs.push(seq, data, prev);
      }
      if (records.length === 0) return records;
      try {
        await sql.batch([
          ...inserts("integrity_records", "seq, data, hash", recordArgs),
          ...inserts("integrity_nodes", "level, idx, hash", nodeArgs),
        ], "write");
      } catch (err) {
        throw new AppError("Unavailable", "Cannot write journal records", { cause: err });
      }
      tree = working;
      head = prev;
      return records;
    },

    async scan(afterSeq, limit) {
      const rs = await sql.execute({
        // One row for the page instead of one per record. Without an ORDER BY inside the aggregates (which sqld's
        // parser refuses) SQLite concatenates in the subquery's order; the seqs are checked for it below.
        sql: `SELECT group_concat(seq, ',') AS s, group_concat(data, char(10)) AS d, group_concat(hash, ',') AS h,
                max(seq) AS m, count(*) AS n
              FROM (SELECT seq, data, hash FROM integrity_records WHERE seq > ? ORDER BY seq LIMIT ?)`,
        args: [afterSeq, limit],
      });
      const row = rs.rows[0];
      const n = Number(row?.n ?? 0);
      if (n === 0) return { seqs: [], data: [], hashes: [], lastSeq: afterSeq };
      const seqs = String(row!.s).split(",").map(Number);
      const data = String(row!.d).split("\n");
      const hashes = String(row!.h).split(",");
      if (data.length === n && hashes.length === n && seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)) {
        return { seqs, data, hashes, lastSeq: Number(row!.m) };
      }
      const rows = await records(afterSeq + 1, n);
      return {
        seqs: rows.map((r) => r.seq),
        data: rows.map((r) => r.data),
        hashes: rows.map((r) => r.hash),
        lastSeq: Number(row!.m),
      };
    },

    leafHashes: (from, to) => leafRange(from, to),

    async rootAt(n) {
      checkSize(n, "Tree size");
      if (n === tree.size) return tree.root();
      const [root] = await hashes([{ lo: 0, hi: n }]);
      return root!;
    },

    async inclusionProof(seq, n) {
      checkSize(n, "Tree size");
      if (!Number.isSafeInteger(seq) || seq < 0 || seq >= n) {
        throw new AppError("InvalidArgument", `Record ${seq} is not in a tree of size ${n}`);
      }
      return await hashes(inclusionRanges(seq, n));
    },

    async consistencyProof(first, second) {
      checkSize(second, "Tree size");
      if (!Number.isSafeInteger(first) || first < 1 || first > second) {
        throw new AppError("InvalidArgument", `Consistency needs 1 ≤ from ≤ to, got ${first} and ${second}`);
      }
      return await hashes(consistencyRanges(first, second));
    },
  };
}
