/**
 * Writing a new object or part file: data chunks gathered into blocks (or written as they come when they are full
 * blocks; aligned ones with O_DIRECT, see `_fs_direct.ts`), then the metadata block, into a temp file that is
 * fsynced before the caller renames it into place. The file format is in `_fs_files.ts`.
 *
 * @module
 */
import { createBlockPool } from "./_block_pool.ts";
import type { DirectFile, DirectWrites } from "./_fs_direct.ts";
import { type FileWriter, mapFsError, metaBlock, SMALL_FILE, writeAll, writeAllSync } from "./_fs_files.ts";

const BLOCK = 1024 * 1024;

/** Free gathering blocks shared by all writers; plain, not aligned, so a gathered block is written buffered. */
const blockPool = createBlockPool({ blockBytes: BLOCK, maxFree: 8 });

const CREATE_NEW: Deno.OpenOptions = { write: true, createNew: true, mode: 0o600 };

/**
 * Gathers writes into blocks of up to BLOCK bytes; at most one gathered block is being written while the next
 * fills. Full blocks handed in as they are may be written several at once (the caller lends each until written).
 * Creates `path` on `open()` or when the first block is written; a file not created before `close()` is created
 * there and written with one synchronous write (into the page cache: an async write costs two thread switches,
 * more CPU than the syscall). Creating and renaming stay asynchronous: they wait for the directory, which the
 * fsyncs of other writes hold for milliseconds on a busy disk.
 */
function createBlockWriter(path: string, directWrites: DirectWrites | undefined) {
  let file: Deno.FsFile | undefined;
  let opening: Promise<Deno.FsFile> | undefined;
  let direct: DirectFile | undefined;
  const open = () =>
    opening ??= Deno.open(path, CREATE_NEW).then((f) => {
      direct = directWrites?.open(path);
      return file = f;
    });
  /** Bytes placed so far (some may still be in flight), and where the file's own position is. */
  let end = 0;
  let position = 0;
  /** Buffered writes move the file's position, so they run one after another. */
  let buffered: Promise<void> = Promise.resolve();
  /** Cleared by a failed direct write; the descriptor stays open (other writes may use it) until `endDirect`. */
  let directOk = true;
  /**
   * Writes `data` at the end of what is placed: aligned blocks direct, the rest (or after a failure) buffered.
   * The place is taken synchronously, so full blocks may be written concurrently.
   */
  const append = async (out: Deno.FsFile, data: Uint8Array) => {
    const at = end;
    end += data.byteLength;
    if (directOk && direct?.fits(data, at)) {
      if (await direct.write(data, at)) return;
      directOk = false;
    }
    const done = buffered.catch(() => {}).then(async () => {
      if (position !== at) await out.seek(at, Deno.SeekMode.Start);
      position = -1;
      await writeAll(out, data);
      position = at + data.byteLength;
    });
    buffered = done;
    await done;
  };
  let buf: Uint8Array<ArrayBuffer> | undefined;
  let other: Uint8Array<ArrayBuffer> | undefined;
  let used = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let failed: { err: unknown } | undefined;
  const check = () => {
    if (failed) throw failed.err;
  };
  async function flush() {
    await inFlight;
    check();
    if (used === 0) return;
    const block = buf!.subarray(0, used);
    const out = await open();
    inFlight = append(out, block).catch((err) => void (failed ??= { err }));
    [buf, other] = [other, buf];
    used = 0;
  }
  function reserve(n: number): Uint8Array {
    if (!buf || buf.byteLength < used + n) {
      // Small objects never take a whole block.
      const want = Math.max(used + n, 2 * (buf?.byteLength ?? 0));
      const grown = want <= SMALL_FILE ? new Uint8Array(want) : blockPool.take();
      if (buf && used > 0) grown.set(buf.subarray(0, used));
      buf = grown;
    }
    return buf;
  }
  async function write(chunk: Uint8Array): Promise<void> {
    check();
    if (used === 0 && chunk.byteLength >= BLOCK) {
      // Nothing is gathered, so nothing flushes; full blocks of a body read in blocks arrive here, several at once.
      return await append(file ?? await open(), chunk);
    }
    let rest = chunk;
    while (rest.byteLength > 0) {
      const n = Math.min(BLOCK - used, rest.byteLength);
      reserve(n).set(rest.subarray(0, n), used);
      used += n;
      rest = rest.subarray(n);
      if (used === BLOCK) await flush();
    }
  }
  return {
    write,
    writeMeta: (meta: unknown) => write(metaBlock(meta)),
    /** Writes what is buffered and returns the file (created here when nothing was flushed before). */
    async close(): Promise<Deno.FsFile> {
      if (!opening) {
        const out = await open();
        writeAllSync(out, buf?.subarray(0, used) ?? new Uint8Array(0));
        used = 0;
        return out;
      }
      await flush();
      await inFlight;
      check();
      return await open();
    },
    open,
    /** The file, once created. */
    file: () => file,
    /** Closes the direct descriptor (after `release`: no write is running). */
    endDirect: () => direct?.close(),
    /** Returns the blocks to the pool once no write uses them (after success or failure). */
    async release() {
      await inFlight;
      for (const b of [buf, other]) if (b) blockPool.give(b);
      buf = other = undefined;
    },
  };
}

/**
 * Writes a new file through `fill` into `tmpDir`, fsyncs it and returns its path; on any failure the temp file
 * is removed and the error (ENOSPC mapped to NoSpace) rethrown. The caller renames the path into place. The file
 * is created up front unless `expectedBytes` says the data is small (then it is written in one go at the end).
 */
export async function writeTemp(
  tmpDir: string,
  fill: (out: FileWriter) => Promise<void>,
  options: { expectedBytes?: number | undefined; direct?: DirectWrites | undefined } = {},
): Promise<string> {
  const path = `${tmpDir}/${crypto.randomUUID()}`;
  const writer = createBlockWriter(path, options.direct);
  try {
    if (options.expectedBytes === undefined || options.expectedBytes > SMALL_FILE) await writer.open();
    await fill(writer);
    const file = await writer.close();
    await writer.release();
    writer.endDirect();
    await file.syncData();
    file.close();
    return path;
  } catch (err) {
    await writer.release();
    writer.endDirect();
    try {
      writer.file()?.close();
    } catch { /* already closed */ }
    await Deno.remove(path).catch(() => {});
    throw mapFsError(err);
  }
}
