/**
 * Journal records and their canonical encoding (the bytes that are hashed into the chain and the tree). Pure:
 * no imports, so the stand-alone verifier can use it.
 *
 * Encoding: RFC 8785 (JCS) JSON restricted to strings, safe integers, booleans and objects: object keys sorted
 * by UTF-16 code units, no whitespace, absent fields omitted (never `null`), strings escaped as ECMAScript
 * `JSON.stringify` does, UTF-8. A record therefore never contains a raw newline, so one record is one line.
 *
 * @module
 */

/** Out-of-band changes found by reconciliation; they are journaled like gateway operations. */
export type ObservedOperation = "ObservedCreate" | "ObservedModify" | "ObservedDelete";

/** The fields of a record before it is placed in the chain. */
export interface RecordBody {
  time: string;
  actor: string;
  /** S3 operation name as AWS spells it (events/mod.ts `S3Operation`) or an `ObservedOperation`. */
  op: string;
  bucket?: string;
  key?: string;
  size?: number;
  etag?: string;
  checksums?: Record<string, string>;
  source?: { bucket: string; key: string };
  status?: number;
  errorCode?: string;
  clientAddress?: string;
  requestId?: string;
  /** Extra facts about observed changes (e.g. the object's lastModified, the previous ETag). */
  detail?: Record<string, string | number>;
}

export interface JournalRecord extends RecordBody {
  /** Encoding version. */
  v: 1;
  /** Position in the journal = leaf index in the tree, from 0. */
  seq: number;
  /** Hex leaf hash of the previous record; 64 zeros for seq 0. */
  prev: string;
}

export const GENESIS_PREV = "0".repeat(64);

type Json = string | number | boolean | { [k: string]: Json | undefined };

/** Canonical JSON text of a value (see the module doc); throws TypeError on values outside the subset. */
export function canonicalJson(value: Json): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return String(value);
    case "number":
      if (!Number.isSafeInteger(value)) throw new TypeError(`Cannot encode non-integer number ${value}`);
      return String(value);
    case "object": {
      if (value === null || Array.isArray(value)) throw new TypeError("Cannot encode null or arrays");
      let out = "";
      for (const k of Object.keys(value).sort()) {
        const v = value[k];
        if (v !== undefined) out += (out === "" ? "" : ",") + JSON.stringify(k) + ":" + canonicalJson(v);
      }
      return "{" + out + "}";
    }
    default:
      throw new TypeError(`Cannot encode a ${typeof value}`);
  }
}

/** Every field a record may have, in canonical (sorted) order. */
const RECORD_FIELDS = [
  "actor",
  "bucket",
  "checksums",
  "clientAddress",
  "detail",
  "errorCode",
  "etag",
  "key",
  "op",
  "prev",
  "requestId",
  "seq",
  "size",
  "source",
  "status",
  "time",
  "v",
] as const;
const KNOWN = new Set<string>(RECORD_FIELDS);

const NESTED = new Set<string>(["checksums", "detail", "source"]);

const isScalar = (v: unknown) =>
  typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isSafeInteger(v));

/**
 * A copy of a flat object with its keys in sorted order, for `JSON.stringify`; undefined when the object needs
 * `canonicalJson` (non-scalar values, or keys that start with a digit, which `JSON.stringify` puts first).
 */
function sortedFlat(o: Record<string, Json | undefined>): Record<string, Json> | undefined {
  const out: Record<string, Json> = {};
  for (const k of Object.keys(o).sort()) {
    const v = o[k];
    if (v === undefined) continue;
    if (!isScalar(v) || (k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57)) return undefined;
    out[k] = v;
  }
  return out;
}

/** `canonicalJson` of a record. */
export function encodeRecord(record: JournalRecord): string {
  return encodeEntry(record, record.seq, record.prev);
}

/**
 * `canonicalJson` of the record `{ ...body, v: 1, seq, prev }`, without building it. The hot path of appends: an
 * object literal with the fields in canonical order goes through `JSON.stringify` (which omits undefined fields
 * and escapes strings as `canonicalJson` does); anything outside the common shape takes the general path.
 */
export function encodeEntry(body: RecordBody, seq: number, prev: string): string {
  const fields = body as unknown as Record<string, Json | undefined>;
  let nested: Record<string, Record<string, Json> | undefined> | undefined;
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined || (isScalar(v) && KNOWN.has(k))) continue;
    const sorted = NESTED.has(k) && typeof v === "object" && v !== null && !Array.isArray(v)
      ? sortedFlat(v)
      : undefined;
    if (!sorted) return canonicalJson({ ...fields, v: 1, seq, prev });
    (nested ??= {})[k] = sorted;
  }
  const b = body;
  return JSON.stringify({
    actor: b.actor,
    bucket: b.bucket,
    checksums: nested?.checksums,
    clientAddress: b.clientAddress,
    detail: nested?.detail,
    errorCode: b.errorCode,
    etag: b.etag,
    key: b.key,
    op: b.op,
    prev,
    requestId: b.requestId,
    seq,
    size: b.size,
    source: nested?.source,
    status: b.status,
    time: b.time,
    v: 1,
  });
}

/**
 * Parse a record and check its shape; throws SyntaxError/TypeError when malformed. The exact bytes are what
 * is hashed, so a re-encoded (non-canonical) record is caught by the hashes, not here.
 */
export function decodeRecord(text: string): JournalRecord {
  const r = JSON.parse(text) as JournalRecord;
  if (typeof r !== "object" || r === null || r.v !== 1 || !Number.isSafeInteger(r.seq) || typeof r.prev !== "string") {
    throw new TypeError("Record lacks v, seq or prev");
  }
  return r;
}
