/**
 * Local write-ahead journal of a volume's write-back cache: `journal-<firstSeq>.log` segment files under the
 * volume's cache dir. A write is acknowledged once its record is fsynced; concurrent appends share one
 * write + fdatasync (group commit). Segments are deleted once every record in them has reached the bucket.
 *
 * Record: 32-byte header (magic, kind, seq, offset, length, crc32 of header + data) then `length` data bytes
 * for writes (none for unmaps). Replay stops at the first torn or corrupt record of the last segment.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { crc32 } from "./_crc32.ts";
import { concatBytes } from "../bytes.ts";

/** What a record says: bytes written at `offset`, or a deallocated range. */
export type JournalEntry =
  | { kind: "write"; offset: number; data: Uint8Array }
  | { kind: "unmap"; offset: number; length: number };

export type JournalRecord = JournalEntry & { seq: number };

export interface Journal {
  /** Sequence number the next appended record gets. */
  readonly nextSeq: number;
  /** Assigns the record its sequence number synchronously; the promise resolves once it is durable. */
  append(entry: JournalEntry): { seq: number; durable: Promise<void> };
  /** Records below `seq` are in the bucket: whole segments below it may go. */
  release(seq: number): Promise<void>;
  readonly bytes: number;
  /** fdatasync calls so far: fewer than appends when group commit batches them. */
  readonly syncs: number;
  close(): Promise<void>;
}

const MAGIC = 0x424a4431; // "BDJ1"
const HEADER = 32;
const KIND = { write: 1, unmap: 2 } as const;

function encode(record: JournalRecord): Uint8Array {
  const dataLength = record.kind === "write" ? record.data.length : 0;
  const out = new Uint8Array(HEADER + dataLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC);
  view.setUint8(4, KIND[record.kind]);
  view.setBigUint64(8, BigInt(record.seq));
  view.setBigUint64(16, BigInt(record.offset));
  view.setUint32(24, record.kind === "write" ? record.data.length : record.length);
  if (record.kind === "write") out.set(record.data, HEADER);
  view.setUint32(28, crc32(out));
  return out;
}

/** Decodes records from one segment; `validBytes` is where the first bad or torn record starts. */
function decodeSegment(bytes: Uint8Array): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + HEADER <= bytes.length) {
    if (view.getUint32(at) !== MAGIC) break;
    const kind = view.getUint8(at + 4);
    const length = view.getUint32(at + 24);
    const total = HEADER + (kind === KIND.write ? length : 0);
    if (at + total > bytes.length || (kind !== KIND.write && kind !== KIND.unmap)) break;
    const copy = bytes.slice(at, at + total);
    const stored = view.getUint32(at + 28);
    new DataView(copy.buffer).setUint32(28, 0);
    if (crc32(copy) !== stored) break;
    const seq = Number(view.getBigUint64(at + 8));
    const offset = Number(view.getBigUint64(at + 16));
    records.push(
      kind === KIND.write
        ? { kind: "write", seq, offset, data: copy.subarray(HEADER) }
        : { kind: "unmap", seq, offset, length },
    );
    at += total;
  }
  return { records, validBytes: at };
}

interface Segment {
  firstSeq: number;
  path: string;
}

function segmentPath(dir: string, firstSeq: number): string {
  return `${dir}/journal-${String(firstSeq).padStart(16, "0")}.log`;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Opens the journal in `dir`, handing every surviving record to `onRecord` in order before returning.
 * New records always go to a fresh segment, so a torn tail is never appended to.
 */
export async function openJournal(
  dir: string,
  options: { segmentBytes?: number; onRecord(record: JournalRecord): void },
): Promise<Journal> {
  const segmentBytes = options.segmentBytes ?? 16 * 1024 * 1024;
  await Deno.mkdir(dir, { recursive: true });
  const segments: Segment[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = entry.name.match(/^journal-(\d{16})\.log$/);
    if (m) segments.push({ firstSeq: Number(m[1]), path: `${dir}/${entry.name}` });
  }
  segments.sort((a, b) => a.firstSeq - b.firstSeq);
  let nextSeq = 1;
  for (const [i, segment] of segments.entries()) {
    const bytes = await Deno.readFile(segment.path);
    const { records, validBytes } = decodeSegment(bytes);
    if (validBytes < bytes.length && i < segments.length - 1) {
      throw new AppError("Integrity", `Journal segment "${segment.path}" is corrupt at byte ${validBytes}`);
    }
    for (const record of records) {
      if (record.seq < nextSeq) {
        throw new AppError("Integrity", `Journal segment "${segment.path}" goes back to sequence ${record.seq}`);
      }
      options.onRecord(record);
      nextSeq = record.seq + 1;
    }
    if (validBytes < bytes.length) await Deno.truncate(segment.path, validBytes);
    nextSeq = Math.max(nextSeq, segment.firstSeq);
  }

  let current: { segment: Segment; file: Deno.FsFile; size: number } | undefined;
  let queue: { bytes: Uint8Array; resolve(): void; reject(err: unknown): void }[] = [];
  let draining: Promise<void> | undefined;
  let totalBytes = 0;
  let syncs = 0;
  for (const s of segments) totalBytes += (await Deno.stat(s.path)).size;
  let closed = false;

  async function startSegment(firstSeq: number): Promise<void> {
    current?.file.close();
    const path = segmentPath(dir, firstSeq);
    // An empty segment left by replay may have this very name: reuse its entry.
    const reused = segments.at(-1)?.path === path ? segments.at(-1) : undefined;
    const segment = reused ?? { firstSeq, path };
    if (!reused) segments.push(segment);
    current = { segment, file: await Deno.open(path, { write: true, create: true, truncate: true }), size: 0 };
    await syncDir(dir);
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const firstSeq = Number(new DataView(batch[0]!.bytes.buffer).getBigUint64(8));
        if (!current || current.size >= segmentBytes) await startSegment(firstSeq);
        const all = concatBytes(batch.map((b) => b.bytes));
        let written = 0;
        while (written < all.length) written += await current!.file.write(all.subarray(written));
        await current!.file.syncData();
        syncs++;
        current!.size += all.length;
        totalBytes += all.length;
        for (const b of batch) b.resolve();
      } catch (err) {
        const failure = new AppError("Internal", `Cannot write journal in "${dir}": ${String(err)}`, { cause: err });
        for (const b of batch) b.reject(failure);
      }
    }
    draining = undefined;
    // Everything was released while this batch was being written: drop the segment now (nothing was appended since).
    if (deferredRelease !== undefined && deferredRelease >= nextSeq) {
      deferredCleanup = journal.release(deferredRelease).catch(() => {});
    }
    deferredRelease = undefined;
  }

  let deferredRelease: number | undefined;
  let deferredCleanup: Promise<void> | undefined;
  const journal: Journal = {
    get nextSeq() {
      return nextSeq;
    },
    get bytes() {
      return totalBytes;
    },
    get syncs() {
      return syncs;
    },
    append(entry) {
      if (closed) throw new AppError("Unavailable", "Cannot write: the volume is closed");
      const seq = nextSeq++;
      const bytes = encode({ ...entry, seq });
      const durable = new Promise<void>((resolve, reject) => queue.push({ bytes, resolve, reject }));
      draining ??= drain();
      return { seq, durable };
    },
    async release(seq) {
      if (seq >= nextSeq && draining) deferredRelease = seq;
      if (seq >= nextSeq && !draining && current) {
        // Everything is in the bucket: the next append starts a fresh segment and this one can go.
        current.file.close();
        current = undefined;
      }
      // A segment is done when the next one starts at or below `seq` (all its records are older).
      while (
        segments.length > 0 && segments[0] !== current?.segment &&
        (segments[1]?.firstSeq ?? (draining ? Infinity : nextSeq)) <= seq
      ) {
        const done = segments.shift()!;
        totalBytes -= (await Deno.stat(done.path)).size;
        await Deno.remove(done.path);
      }
    },
    async close() {
      closed = true;
      await draining;
      await deferredCleanup;
      current?.file.close();
      current = undefined;
    },
  };
  return journal;
}
