/**
 * The fs backend's file format and low-level I/O. Each object (and each multipart part) is ONE file (a completed
 * multipart object's file holds only metadata; its data stays in its part files, see `_fs_linked.ts`):
 *
 *   [data bytes][metadata JSON (UTF-8)][u32 BE JSON length][8-byte magic "s3pobj01"]
 *
 * so a single atomic rename publishes data and metadata together, readers that opened the file keep a
 * consistent snapshot while it is overwritten, and the data region starts at offset 0 (range reads seek
 * directly). Files are written to a temp path, fsynced, then renamed into place (`_fs_temp_file.ts`).
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { markRecyclable } from "../http_handoff.ts";
import { createBlockPool } from "./_block_pool.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAGIC = encoder.encode("s3pobj01");
const TRAILER = 4 + MAGIC.length;
/** Files up to this size are read whole by `openStored` (one read, data served from memory). */
export const SMALL_FILE = 64 * 1024;

export function isNotFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

/** Maps OS errors to AppErrors where the edge needs to tell them apart (a full disk is a 507, not a 500). */
export function mapFsError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") {
    return new AppError("NoSpace", "Not enough space on the storage device", { cause: err });
  }
  return err;
}

/**
 * A whole small file (data, then the metadata block), for a writer that takes the whole file at once
 * (`_fs_group_commit.ts`): its size, and `write` to put it into the writer's buffer (no buffer of its own).
 */
export function smallFile(data: Uint8Array, meta: unknown): { size: number; write(out: Uint8Array): void } {
  const json = encoder.encode(JSON.stringify(meta));
  return {
    size: data.byteLength + json.byteLength + TRAILER,
    write(out) {
      out.set(data, 0);
      writeMetaBlock(out, data.byteLength, json);
    },
  };
}

/** Writes `json`, its length and the magic at `at` of `out` (which has room for them). */
function writeMetaBlock(out: Uint8Array, at: number, json: Uint8Array): void {
  out.set(json, at);
  new DataView(out.buffer, out.byteOffset).setUint32(at + json.byteLength, json.byteLength);
  out.set(MAGIC, at + json.byteLength + 4);
}

/** The metadata block and trailer that follow a file's data. */
export function metaBlock(meta: unknown): Uint8Array {
  const json = encoder.encode(JSON.stringify(meta));
  const tail = new Uint8Array(json.byteLength + TRAILER);
  writeMetaBlock(tail, 0, json);
  return tail;
}

/** Sequential writer of a new file: data chunks, then the metadata block. */
export interface FileWriter {
  /** Queues `chunk` (copied, so the caller may reuse it once the promise resolves). */
  write(chunk: Uint8Array): Promise<void>;
  /** Appends the metadata block and trailer after the data. */
  writeMeta(meta: unknown): Promise<void>;
}

/** Reads `length` bytes at `position` of `file`, fewer at its end. */
export function readAtSync(file: Deno.FsFile, position: number, length: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(length);
  file.seekSync(position, Deno.SeekMode.Start);
  let n = 0;
  while (n < length) {
    const got = file.readSync(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return buf.subarray(0, n);
}

async function readExactly(file: Deno.FsFile, position: number, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const buf = new Uint8Array(length);
  // A freshly opened file is already at 0.
  if (position !== 0) await file.seek(position, Deno.SeekMode.Start);
  let offset = 0;
  while (offset < length) {
    const n = await file.read(buf.subarray(offset));
    if (n === null) throw new AppError("Internal", "Object file is truncated");
    offset += n;
  }
  return buf;
}

function endsWithMagic(bytes: Uint8Array): boolean {
  const at = bytes.byteLength - MAGIC.length;
  return at >= TRAILER - MAGIC.length && MAGIC.every((b, i) => bytes[at + i] === b);
}

function trailerOf(path: string, tail: Uint8Array): number {
  const magic = tail.subarray(tail.byteLength - MAGIC.length);
  if (!magic.every((b, i) => b === MAGIC[i])) throw new AppError("Internal", `Object file ${path} has a bad trailer`);
  return new DataView(tail.buffer, tail.byteOffset).getUint32(tail.byteLength - TRAILER);
}

/**
 * Parses the metadata from the file's last bytes; when the JSON is longer than `tail`, reads it with `readAt`
 * (sync callers) or leaves `meta` undefined for the async caller to fetch.
 */
function parseTail<M>(
  path: string,
  tail: Uint8Array,
  size: number,
  readAt: ((position: number, length: number) => Uint8Array) | undefined,
): { meta: M | undefined; dataSize: number } {
  const jsonLength = trailerOf(path, tail);
  const dataSize = size - TRAILER - jsonLength;
  if (dataSize < 0) throw new AppError("Internal", `Object file ${path} has a bad trailer`);
  const json = jsonLength + TRAILER <= tail.byteLength
    ? tail.subarray(tail.byteLength - TRAILER - jsonLength, tail.byteLength - TRAILER)
    : readAt?.(dataSize, jsonLength);
  return { meta: json && JSON.parse(decoder.decode(json)) as M, dataSize };
}

async function readJson<M>(file: Deno.FsFile, size: number, tail: Uint8Array): Promise<M> {
  const jsonLength = new DataView(tail.buffer, tail.byteOffset).getUint32(tail.byteLength - TRAILER);
  const json = await readExactly(file, size - TRAILER - jsonLength, jsonLength);
  return JSON.parse(decoder.decode(json)) as M;
}

export interface OpenedFile<M> {
  file: Deno.FsFile;
  meta: M;
  dataSize: number;
  /** The whole data region, when the file was small enough to be read at once. */
  data?: Uint8Array<ArrayBuffer>;
}

/**
 * The buffer of the first read of `openStored`, reused: a fresh 64 KiB buffer per GET is garbage that costs the
 * collector more than the read (the appliance runs V8 with a 2 MiB young generation). The read is synchronous,
 * so one buffer serves every call.
 */
const probe = new Uint8Array(SMALL_FILE);

/**
 * The data of small files read whole goes into blocks from pools, one pool per block size: the S3 port gives a block
 * back once it has written the answer (`releaseSent`), and a later GET reads into it. Memory of its own per GET, even
 * shared 256 KiB slabs, is V8 external memory, whose growth V8 answers with mark-compacts: under 4 KiB GETs that was a
 * mark-compact every 120 ms, and reused blocks halve them (bench/README.md, "Small objects read into pooled blocks").
 * A block nothing gives back (a consumer in the appliance keeps the bytes) is left to the collector. Each pool keeps
 * 1 MiB.
 */
const SMALL_DATA_POOLS = [4096, 16384, SMALL_FILE].map((blockBytes) => ({
  blockBytes,
  pool: createBlockPool({ blockBytes, maxFree: (1024 * 1024) / blockBytes }),
}));

/** A copy of `bytes` (less than SMALL_FILE) in a block of the smallest pool it fits, marked for the server to give back. */
function copyOut(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { pool } = SMALL_DATA_POOLS.find((p) => p.blockBytes >= bytes.byteLength)!;
  const block = pool.take();
  const view = block.subarray(0, bytes.byteLength);
  view.set(bytes);
  return markRecyclable(view, block, pool.give) as Uint8Array<ArrayBuffer>;
}

/**
 * Opens an existing file for reading; undefined when it does not exist. Opening takes no journal lock, so unlike a
 * create it does not wait on other writes' fsyncs; inline it saves a thread hand-off (~25 µs of CPU per GET here).
 */
function openExisting(path: string): Deno.FsFile | undefined {
  try {
    return Deno.openSync(path, { read: true });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The metadata from the end of an open file, and its data when the whole file is small enough to read at once. */
async function readTail<M>(path: string, file: Deno.FsFile): Promise<Omit<OpenedFile<M>, "file">> {
  const { size } = await file.stat();
  if (size < TRAILER) throw new AppError("Internal", `Object file ${path} has no metadata trailer`);
  const tailLength = size <= SMALL_FILE ? size : 4096;
  const tail = await readExactly(file, size - tailLength, tailLength);
  const { meta, dataSize } = parseTail<M>(path, tail, size, undefined);
  return {
    meta: meta ?? await readJson<M>(file, size, tail),
    dataSize,
    ...(tailLength === size ? { data: tail.subarray(0, dataSize) } : {}),
  };
}

/** Opens an object/part file and parses its metadata; undefined when the file does not exist. */
export async function openStored<M>(path: string): Promise<OpenedFile<M> | undefined> {
  const file = openExisting(path);
  if (!file) return undefined;
  try {
    // One read from offset 0 gets a small file whole without a stat: a short read of a regular file ends at its
    // end, and the trailer's magic confirms it. Inline like the open: an async read costs a thread hand-off,
    // ~25 µs of CPU per GET, several times the read of a cached file.
    const n = file.readSync(probe) ?? 0;
    const whole = n < SMALL_FILE && endsWithMagic(probe.subarray(0, n)) ? probe.subarray(0, n) : undefined;
    if (whole) {
      const { meta, dataSize } = parseTail<M>(path, whole, whole.byteLength, undefined);
      if (meta) return { file, meta, dataSize, data: copyOut(whole.subarray(0, dataSize)) };
    }
    await file.seek(0, Deno.SeekMode.Start);
    return { file, ...await readTail<M>(path, file) };
  } catch (err) {
    file.close();
    throw err;
  }
}

/**
 * Reads only the metadata of a stored file, from its end: not from offset 0 as `openStored` does, whose read (and the
 * kernel's read-ahead after it, 256 KiB here) would bring the start of a large part file into the page cache.
 */
export async function readStoredMeta<M>(path: string): Promise<M | undefined> {
  const file = openExisting(path);
  if (!file) return undefined;
  try {
    return (await readTail<M>(path, file)).meta;
  } finally {
    file.close();
  }
}

/**
 * Synchronous twin of `readStoredMeta` for listings: a page needs up to 1000 small reads of cached metadata,
 * which take far less time inline than as thousands of round trips through the async I/O pool.
 */
export function readStoredMetaSync<M>(path: string): M | undefined {
  const file = openExisting(path);
  if (!file) return undefined;
  const readAt = (position: number, length: number) => {
    const bytes = readAtSync(file, position, length);
    if (bytes.byteLength < length) throw new AppError("Internal", `Object file ${path} is truncated`);
    return bytes;
  };
  try {
    const size = file.statSync().size;
    if (size < TRAILER) throw new AppError("Internal", `Object file ${path} has no metadata trailer`);
    const tailLength = Math.min(size, 4096);
    const tail = readAt(size - tailLength, tailLength);
    return parseTail<M>(path, tail, size, readAt).meta;
  } finally {
    file.close();
  }
}

/**
 * Group commit for directory fsyncs: a call returns once an fsync of `dir` that STARTED after the call has
 * finished (so it covers the caller's rename). Callers arriving while one runs share the next one, so N
 * concurrent writes into a directory cost about two fsyncs instead of N.
 */
export function createDirSyncer(): (dir: string) => Promise<void> {
  const dirs = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();
  function start(dir: string, state: { running?: Promise<void>; next?: Promise<void> }): Promise<void> {
    const run = syncDir(dir).finally(() => {
      if (state.running !== run) return;
      state.running = undefined;
      if (!state.next) dirs.delete(dir);
    });
    state.running = run;
    return run;
  }
  return (dir) => {
    let state = dirs.get(dir);
    if (!state) dirs.set(dir, state = {});
    const s = state;
    if (s.next) return s.next;
    if (!s.running) return start(dir, s);
    const next = s.running.catch(() => {}).then(() => {
      s.next = undefined;
      return start(dir, s);
    });
    s.next = next;
    return next;
  };
}

/** fsyncs a directory so a rename into it survives power loss. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** Synchronous twin of `syncDir`, for the log replay at open. */
export function syncDirSync(dir: string): void {
  const handle = Deno.openSync(dir, { read: true });
  try {
    handle.syncSync();
  } finally {
    handle.close();
  }
}

export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) offset += await file.write(data.subarray(offset));
}

export function writeAllSync(file: Deno.FsFile, data: Uint8Array): void {
  for (let offset = 0; offset < data.byteLength;) offset += file.writeSync(data.subarray(offset));
}
