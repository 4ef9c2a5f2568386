/**
 * The write-ahead log of the fs backend's small objects (`<root>/small-objects.log`), written by the group-commit
 * worker (`_fs_group_commit_worker.ts`) and replayed when a store opens. Layout:
 *
 *   offset 0 and 512   two header slots: [8-byte magic "s3plog01"][u64 checkpoint seq][u32 CRC-32 of the 16 bytes]
 *   offset 4096 …      records:          [u32 magic][u64 seq][u32 path length][u32 file length][path][file][u32 CRC]
 *
 * A record holds a whole object file (`smallFile`) and its path relative to the data directory; its CRC-32 covers
 * everything before it. The valid header with the highest seq wins (they are written alternately, so a torn header
 * write leaves the other one). Every record with a seq at most the header's checkpoint has been made durable at
 * its target; the records that follow the checkpoint are seq checkpoint+1, +2, … from offset 4096 on, and the first
 * record that is torn, foreign or out of sequence ends the log (a stale record left beyond the tail by an earlier
 * round has a lower seq). The file is filled with zeros when created, so later writes change no metadata and an
 * fdatasync of them is a cheap data flush.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { isNotFound, readAtSync, syncDirSync, writeAllSync } from "./_fs_files.ts";

export const LOG_FILE = "small-objects.log";
/** Where the records start (the header slots are below). */
export const RECORDS_START = 4096;
const SLOT_BYTES = 512;
const HEADER_MAGIC = new TextEncoder().encode("s3plog01");
const HEADER_BYTES = HEADER_MAGIC.length + 8 + 4;
const RECORD_MAGIC = 0x53335052;
const RECORD_HEAD = 4 + 8 + 4 + 4;
const MAX_PATH = 4096;
const MAX_FILE = 16 * 1024 * 1024;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Reads `length` bytes at `position`, fewer at the end of the file. */
export type ReadAt = (position: number, length: number) => Uint8Array;

export interface LogRecord {
  seq: number;
  /** Target path relative to the data directory. */
  path: string;
  file: Uint8Array;
}

/** The checkpoint of the log and the slot of the header that holds it (-1: none is valid). */
export interface Checkpoint {
  seq: number;
  slot: number;
}

/** The file offset of header slot `slot` (0 or 1). */
export const slotOffset = (slot: number) => slot * SLOT_BYTES;

export function encodeHeader(seq: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(HEADER_MAGIC);
  const view = new DataView(out.buffer);
  view.setBigUint64(HEADER_MAGIC.length, BigInt(seq));
  view.setUint32(HEADER_BYTES - 4, crc32(out.subarray(0, HEADER_BYTES - 4)));
  return out;
}

function decodeHeader(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < HEADER_BYTES || !HEADER_MAGIC.every((b, i) => bytes[i] === b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (view.getUint32(HEADER_BYTES - 4) !== crc32(bytes.subarray(0, HEADER_BYTES - 4))) return undefined;
  return Number(view.getBigUint64(HEADER_MAGIC.length));
}

/** The valid header with the highest seq; seq 0 and slot -1 when neither is valid (a new or empty log). */
export function readCheckpoint(readAt: ReadAt): Checkpoint {
  let best: Checkpoint = { seq: 0, slot: -1 };
  for (const slot of [0, 1]) {
    const seq = decodeHeader(readAt(slotOffset(slot), HEADER_BYTES));
    if (seq !== undefined && (best.slot < 0 || seq > best.seq)) best = { seq, slot };
  }
  return best;
}

export const recordLength = (path: Uint8Array, file: Uint8Array) => RECORD_HEAD + path.byteLength + file.byteLength + 4;

/** Encodes a record into `out` at `at` (room for `recordLength` bytes); returns the offset after it. */
export function encodeRecord(out: Uint8Array, at: number, record: { seq: number; path: Uint8Array; file: Uint8Array }) {
  const view = new DataView(out.buffer, out.byteOffset);
  view.setUint32(at, RECORD_MAGIC);
  view.setBigUint64(at + 4, BigInt(record.seq));
  view.setUint32(at + 12, record.path.byteLength);
  view.setUint32(at + 16, record.file.byteLength);
  out.set(record.path, at + RECORD_HEAD);
  out.set(record.file, at + RECORD_HEAD + record.path.byteLength);
  const end = at + recordLength(record.path, record.file);
  view.setUint32(end - 4, crc32(out.subarray(at, end - 4)));
  return end;
}

/** A path a record may name: relative, no empty, `.` or `..` segment. */
function safePath(path: string): boolean {
  return path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/** The record `seq` at `at` and its length, or undefined when there is no such record. */
function decodeRecord(readAt: ReadAt, at: number, size: number, seq: number): [LogRecord, number] | undefined {
  if (at + RECORD_HEAD > size) return undefined;
  const head = readAt(at, RECORD_HEAD);
  if (head.byteLength < RECORD_HEAD) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, RECORD_HEAD);
  if (view.getUint32(0) !== RECORD_MAGIC || Number(view.getBigUint64(4)) !== seq) return undefined;
  const pathLength = view.getUint32(12), fileLength = view.getUint32(16);
  const length = RECORD_HEAD + pathLength + fileLength + 4;
  if (pathLength === 0 || pathLength > MAX_PATH || fileLength > MAX_FILE || at + length > size) return undefined;
  const bytes = readAt(at, length);
  if (bytes.byteLength < length) return undefined;
  const crc = new DataView(bytes.buffer, bytes.byteOffset + length - 4, 4).getUint32(0);
  if (crc !== crc32(bytes.subarray(0, length - 4))) return undefined;
  let path: string;
  try {
    path = decoder.decode(bytes.subarray(RECORD_HEAD, RECORD_HEAD + pathLength));
  } catch {
    return undefined;
  }
  if (!safePath(path)) return undefined;
  return [{ seq, path, file: bytes.subarray(RECORD_HEAD + pathLength, length - 4) }, length];
}

/**
 * Visits the records that follow checkpoint `after` in a log of `size` bytes, in order; returns the seq of the last
 * one (`after` when there is none).
 */
export function scanRecords(readAt: ReadAt, size: number, after: number, visit: (r: LogRecord) => void): number {
  let at = RECORDS_START;
  let seq = after;
  for (;;) {
    const decoded = decodeRecord(readAt, at, size, seq + 1);
    if (!decoded) return seq;
    visit(decoded[0]);
    seq += 1;
    at += decoded[1];
  }
}

/** Whether a rename failed because the target's directory is gone (a bucket deleted after its object's record). */
function dirGone(err: unknown): boolean {
  return isNotFound(err) || err instanceof Deno.errors.NotADirectory || (err as { code?: string }).code === "ENOTDIR";
}

/** Writes `bytes` durably as `target` through a file in `tmp`; false when the target's directory no longer exists. */
function apply(tmp: string, target: string, bytes: Uint8Array): boolean {
  const temp = `${tmp}/replay-${crypto.randomUUID()}`;
  const file = Deno.openSync(temp, { write: true, createNew: true, mode: 0o600 });
  try {
    writeAllSync(file, bytes);
    file.syncDataSync();
  } finally {
    file.close();
  }
  try {
    Deno.renameSync(temp, target);
    return true;
  } catch (err) {
    Deno.removeSync(temp);
    if (dirGone(err)) return false;
    throw err;
  }
}

/**
 * Replays the log of the data directory `root` (when there is one): writes the file of every record after the
 * checkpoint to its target, in order, through temp files in `tmp`, makes them durable, then records the new
 * checkpoint. Runs when a store opens, before anything reads or writes objects; returns the number of files
 * written. Synchronous Deno file calls (no FFI): it is rare, and short.
 */
export function replaySmallLog(root: string, tmp: string): number {
  let log: Deno.FsFile;
  try {
    log = Deno.openSync(`${root}/${LOG_FILE}`, { read: true, write: true });
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
  try {
    const size = log.statSync().size;
    const readAt: ReadAt = (position, length) => readAtSync(log, position, length);
    const checkpoint = readCheckpoint(readAt);
    const dirs = new Set<string>();
    let written = 0;
    const last = scanRecords(readAt, size, checkpoint.seq, (record) => {
      const target = `${root}/${record.path}`;
      if (!apply(tmp, target, record.file)) return;
      dirs.add(target.slice(0, target.lastIndexOf("/")));
      written++;
    });
    if (last === checkpoint.seq) return 0;
    for (const dir of dirs) syncDirSync(dir);
    log.seekSync(slotOffset(checkpoint.slot === 0 ? 1 : 0), Deno.SeekMode.Start);
    writeAllSync(log, encodeHeader(last));
    log.syncDataSync();
    return written;
  } catch (err) {
    throw new Error(`Cannot replay the small-object log of "${root}": ${err instanceof Error ? err.message : err}`, {
      cause: err,
    });
  } finally {
    log.close();
  }
}
