/**
 * The fs backend's file format and low-level I/O. Each object (and each multipart part) is ONE file:
 *
 *   [data bytes][metadata JSON (UTF-8)][u32 BE JSON length][8-byte magic "s3pobj01"]
 *
 * so a single atomic rename publishes data and metadata together, readers that opened the file keep a
 * consistent snapshot while it is overwritten, and the data region starts at offset 0 (range reads seek
 * directly). Files are written to a temp path, fsynced, then renamed into place.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import type { ByteRange } from "./mod.ts";

const MAGIC = new TextEncoder().encode("s3pobj01");
const TRAILER = 4 + MAGIC.length;
const CHUNK = 256 * 1024;

/** Maps OS errors to AppErrors where the edge needs to tell them apart (a full disk is a 507, not a 500). */
export function mapFsError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") {
    return new AppError("NoSpace", "Not enough space on the storage device", { cause: err });
  }
  return err;
}

export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) offset += await file.write(data.subarray(offset));
}

/** Appends the metadata block and trailer after the data already written. */
export async function writeMeta(file: Deno.FsFile, meta: unknown): Promise<void> {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const tail = new Uint8Array(json.byteLength + TRAILER);
  tail.set(json, 0);
  new DataView(tail.buffer).setUint32(json.byteLength, json.byteLength);
  tail.set(MAGIC, json.byteLength + 4);
  await writeAll(file, tail);
}

async function readExactly(file: Deno.FsFile, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await file.seek(position, Deno.SeekMode.Start);
  let offset = 0;
  while (offset < length) {
    const n = await file.read(buf.subarray(offset));
    if (n === null) throw new AppError("Internal", "Object file is truncated");
    offset += n;
  }
  return buf;
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
  return { meta: json && JSON.parse(new TextDecoder().decode(json)) as M, dataSize };
}

async function readJson<M>(file: Deno.FsFile, size: number, tail: Uint8Array): Promise<M> {
  const jsonLength = new DataView(tail.buffer, tail.byteOffset).getUint32(tail.byteLength - TRAILER);
  const json = await readExactly(file, size - TRAILER - jsonLength, jsonLength);
  return JSON.parse(new TextDecoder().decode(json)) as M;
}

export interface OpenedFile<M> {
  file: Deno.FsFile;
  meta: M;
  dataSize: number;
}

/** Opens an object/part file and parses its metadata; undefined when the file does not exist. */
export async function openStored<M>(path: string): Promise<OpenedFile<M> | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  try {
    const { size } = await file.stat();
    if (size < TRAILER) throw new AppError("Internal", `Object file ${path} has no metadata trailer`);
    const tailLength = Math.min(size, 4096);
    const tail = await readExactly(file, size - tailLength, tailLength);
    const { meta, dataSize } = parseTail<M>(path, tail, size, undefined);
    return { file, meta: meta ?? await readJson<M>(file, size, tail), dataSize };
  } catch (err) {
    file.close();
    throw err;
  }
}

/** Reads only the metadata of a stored file. */
export async function readStoredMeta<M>(path: string): Promise<M | undefined> {
  const opened = await openStored<M>(path);
  opened?.file.close();
  return opened?.meta;
}

/**
 * Synchronous twin of `readStoredMeta` for listings: a page needs up to 1000 small reads of cached metadata,
 * which take far less time inline than as thousands of round trips through the async I/O pool.
 */
export function readStoredMetaSync<M>(path: string): M | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const readAt = (position: number, length: number) => {
    const buf = new Uint8Array(length);
    file.seekSync(position, Deno.SeekMode.Start);
    for (let offset = 0; offset < length;) {
      const n = file.readSync(buf.subarray(offset));
      if (n === null) throw new AppError("Internal", `Object file ${path} is truncated`);
      offset += n;
    }
    return buf;
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

/** Streams `range` of the data region from an open file (which the stream then owns and closes). */
export function streamRange(file: Deno.FsFile, range: ByteRange): ReadableStream<Uint8Array> {
  let position = range.start;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async start() {
      await file.seek(range.start, Deno.SeekMode.Start);
    },
    async pull(controller) {
      const remaining = range.end + 1 - position;
      if (remaining <= 0) {
        close();
        return controller.close();
      }
      const buf = new Uint8Array(Math.min(CHUNK, remaining));
      try {
        const n = await file.read(buf);
        if (n === null) throw new AppError("Internal", "Object file ended before its declared size");
        position += n;
        controller.enqueue(buf.subarray(0, n));
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

/** Copies `length` bytes from `from` (at `start`) to the current position of `to`, calling `onChunk` per chunk. */
export async function copyRegion(
  from: Deno.FsFile,
  start: number,
  length: number,
  to: Deno.FsFile,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<void> {
  await from.seek(start, Deno.SeekMode.Start);
  const buf = new Uint8Array(Math.min(4 * CHUNK, Math.max(length, 1)));
  let left = length;
  while (left > 0) {
    const n = await from.read(buf.subarray(0, Math.min(buf.byteLength, left)));
    if (n === null) throw new AppError("Internal", "Source file ended before its declared size");
    const chunk = buf.subarray(0, n);
    onChunk?.(chunk);
    await writeAll(to, chunk);
    left -= n;
  }
}

/**
 * Writes a new file through `fill` into `tmpDir`, fsyncs it and returns its path; on any failure the temp file
 * is removed and the error (ENOSPC mapped to NoSpace) rethrown. The caller renames the path into place.
 */
export async function writeTemp(tmpDir: string, fill: (file: Deno.FsFile) => Promise<void>): Promise<string> {
  const path = `${tmpDir}/${crypto.randomUUID()}`;
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    await fill(file);
    await file.syncData();
    file.close();
    return path;
  } catch (err) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(path).catch(() => {});
    throw mapFsError(err);
  }
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
