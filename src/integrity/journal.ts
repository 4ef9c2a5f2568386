/**
 * The journal store: records hash-chained and appended as leaves of an RFC 9162 Merkle tree, in the database.
 *
 * Tables: `integrity_records`, `integrity_nodes` (src/db/schema.ts). Hot paths use the libsql client directly
 * (multi-row inserts, `group_concat` scans): the query builder costs more than the database here.
 *
 * Each batch is one transaction: the records plus every complete subtree hash the batch closed, so an append
 * costs O(log n) and any proof needs only O(log² n) stored hashes (fetched in one query). The right edge of the
 * tree and the last hash are kept in memory and rebuilt from the stored nodes at open.
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
  leafHash,
  type NodeId,
  nodesFor,
  type Range,
  rangeHash,
  rangeNodes,
  toHex,
  TreeBuilder,
} from "./merkle.ts";
import { encodeRecord, GENESIS_PREV, type JournalRecord, type RecordBody } from "./record_codec.ts";

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
const enc = new TextEncoder();

function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

export async function openJournalStore(db: Db): Promise<JournalStore> {
  // drizzle's libsql database carries its client; the shared `Db` alias leaves it out of the type.
  const sql = (db as Db & { $client: Client }).$client;

  async function fetchNodes(ids: NodeId[]): Promise<Map<string, Hash>> {
    const map = new Map<string, Hash>();
    for (const part of chunks(ids, 400)) {
      const leaves = part.filter((n) => n.level === 0).map((n) => n.index);
      const inner = part.filter((n) => n.level > 0);
      const rs = await sql.execute({
        sql: `SELECT 0 AS level, seq AS idx, hash FROM integrity_records WHERE seq IN (${
          leaves.map(() => "?").join(",")
        }) UNION ALL SELECT level, idx, hash FROM integrity_nodes WHERE (level, idx) IN (VALUES ${
          inner.map(() => "(?,?)").join(",") || "(NULL,NULL)"
        })`,
        args: [...leaves, ...inner.flatMap((n) => [n.level, n.index])],
      });
      for (const r of rs.rows) map.set(`${r.level}/${r.idx}`, fromHex(String(r.hash)));
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
  let head = size === 0 ? GENESIS_PREV : toHex((await hashes([{ lo: size - 1, hi: size }]))[0]!);

  function checkSize(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > tree.size) {
      throw new AppError("InvalidArgument", `${what} ${n} is outside the journal (size ${tree.size})`);
    }
  }

  function inserts(table: string, columns: string, rows: (string | number)[][]): InStatement[] {
    return chunks(rows, ROWS_PER_INSERT).map((part) => ({
      sql: `INSERT INTO ${table} (${columns}) VALUES ${part.map(() => "(?,?,?)").join(",")}`,
      args: part.flat(),
    }));
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
      const nodes: (string | number)[][] = [];
      let prev = head;
      for (const body of bodies) {
        const record: JournalRecord = { ...body, v: 1, seq: working.size, prev };
        const data = encodeRecord(record);
        const hash = leafHash(enc.encode(data));
        for (const n of working.push(hash)) nodes.push([n.level, n.index, toHex(n.hash)]);
        prev = toHex(hash);
        records.push({ seq: record.seq, data, hash: prev });
      }
      if (records.length === 0) return records;
      try {
        await sql.batch([
          ...inserts("integrity_records", "seq, data, hash", records.map((r) => [r.seq, r.data, r.hash])),
          ...inserts("integrity_nodes", "level, idx, hash", nodes),
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
        sql: `SELECT group_concat(seq, ',' ORDER BY seq) AS s, group_concat(data, char(10) ORDER BY seq) AS d,
                group_concat(hash, ',' ORDER BY seq) AS h,
                max(seq) AS m, count(*) AS n
              FROM (SELECT seq, data, hash FROM integrity_records WHERE seq > ? ORDER BY seq LIMIT ?)`,
        args: [afterSeq, limit],
      });
      const row = rs.rows[0];
      const n = Number(row?.n ?? 0);
      if (n === 0) return { seqs: [], data: [], hashes: [], lastSeq: afterSeq };
      const data = String(row!.d).split("\n");
      const hashes = String(row!.h).split(",");
      if (data.length === n && hashes.length === n) {
        return { seqs: String(row!.s).split(",").map(Number), data, hashes, lastSeq: Number(row!.m) };
      }
      const rows = await records(afterSeq + 1, n);
      return {
        seqs: rows.map((r) => r.seq),
        data: rows.map((r) => r.data),
        hashes: rows.map((r) => r.hash),
        lastSeq: Number(row!.m),
      };
    },

    async leafHashes(from, to) {
      const rs = await sql.execute({
        sql: "SELECT group_concat(hash, '' ORDER BY seq) AS h FROM integrity_records WHERE seq >= ? AND seq < ?",
        args: [from, to],
      });
      const bytes = fromHex(String(rs.rows[0]?.h ?? ""));
      if (bytes.length !== (to - from) * 32) {
        throw new AppError("Integrity", `Leaf hashes ${from}..${to} are incomplete`);
      }
      return bytes;
    },

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
