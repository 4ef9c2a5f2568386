/**
 * Worker side of `_fs_group_commit.ts`: publishes small files with synchronous system calls on its own thread.
 *
 * Each message runs one cycle: (1) write every item's temp file (page cache only; an item whose file cannot be
 * written fails alone and is not logged); (2) append one record per written file to the write-ahead log
 * (`_fs_small_log.ts`) and make them durable with ONE fdatasync of the log — a data-only flush of a file whose
 * blocks already exist; (3) rename the temp files into place; (4) answer. The renames reach the disk later, with
 * the next journal commit: until then the log holds every file's bytes, so a crash at any point leaves each name
 * either as it was or rewritten by the replay at the next open. Because the log is durable before any rename,
 * no rename that reaches the disk can point at data that did not.
 *
 * A checkpoint — one `syncfs(2)` of the data directory's file system (every renamed file is then durable), then
 * the other header slot written with the last seq — retires the records, and the log starts again at its first
 * record offset. It runs when a cycle's records do not fit and the log is at its largest size, when a message asks
 * for it (an object path with a pending record is about to change another way, the worker is about to stop, the
 * store closes), and before answering a rename that failed after its record was logged (so the record is never
 * replayed over what happens to that path next).
 *
 * The temp files are spares: empty files the worker creates between cycles, and writes into when a cycle comes. It
 * stops creating as soon as the next cycle has been sent (a counter the store shares with it), so that cycle waits for
 * one create at most. Creating a file is most of a cycle's file-system time otherwise: ext4 allocates an inode, and
 * without a journal it first scans the inodes freed in the last minutes, 0.15-0.3 ms per create after many deletes
 * against ~0.02 ms to open an existing file. Made between cycles, the creates fall in the time the worker waits for the
 * event loop instead of in the cycle every PUT waits for. A cycle that finds no spare creates its files itself. The
 * spares are removed when the worker stops; those of a process that died go with the rest of `tmp/` when the store
 * next opens.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { LIBC_SYMBOLS, SPARE_PREFIX, SPARES } from "./_fs_group_commit.ts";
import { LIBC, O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY } from "./_libc.ts";
import {
  encodeHeader,
  encodeRecord,
  LOG_FILE,
  type ReadAt,
  readCheckpoint,
  recordLength,
  RECORDS_START,
  scanRecords,
  slotOffset,
} from "./_fs_small_log.ts";

/**
 * A cycle's `count` items, encoded in the first `length` bytes of `buffer` (`encodeItem` in `_fs_group_commit.ts`).
 * `checkpoint`: retire the log's records after the cycle; `stop`: then close the log (the worker is about to be
 * terminated, which does not close the descriptors it opened through libc).
 */
export type GroupRequest = { root: string; cyclesSent: Int32Array<SharedArrayBuffer> } | {
  buffer: ArrayBuffer;
  length: number;
  count: number;
  checkpoint: boolean;
  stop: boolean;
};

/**
 * An item of a cycle: its target as a NUL-terminated C string, the target relative to the root, its file, and once
 * opened the temp file it is written to (a C string too).
 */
interface Item {
  tmp?: Uint8Array;
  target: Uint8Array;
  path: Uint8Array;
  file: Uint8Array;
}
export interface GroupFailure {
  code?: string;
  message: string;
}
/**
 * Per item: whether its record is durable in the log, whether the rename happened, and the failure (errno code,
 * message) if a step failed.
 */
export interface GroupResult {
  logged: boolean;
  renamed: boolean;
  error?: GroupFailure;
}
/** The result of the item at `index` when it is not `{ logged: true, renamed: true }`. */
export type GroupFailureAt = GroupResult & { index: number };
/**
 * `failures`: the items that failed, in order (every other one was logged and renamed). `buffer`: the request's,
 * given back for the next batch. `checkpointedFirst`: a checkpoint retired the earlier records before this cycle
 * logged; `checkpointedLast`: every record up to this cycle's is retired (always when asked and it
 * worked); `checkpointError` when a checkpoint this message asked for failed.
 */
export interface GroupReply {
  failures: GroupFailureAt[];
  buffer: ArrayBuffer;
  checkpointedFirst: boolean;
  checkpointedLast: boolean;
  checkpointError?: GroupFailure;
}

const SEEK_END = 2;
/** The log's size when created, and the size it grows to (doubling) before checkpoints are the only way on. */
const LOG_INITIAL = 1024 * 1024, LOG_MAX = 32 * 1024 * 1024;
/** The errno names the store tells apart (`mapFsError`, NotFound); others keep their number. */
const ERRNO_CODES: Record<number, string> = {
  2: "ENOENT",
  5: "EIO",
  13: "EACCES",
  17: "EEXIST",
  20: "ENOTDIR",
  21: "EISDIR",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  122: "EDQUOT",
};

// Only started once the caller has loaded the same library (`_fs_group_commit.ts`). The files are written with
// libc directly: a Deno file op per create, write, close and rename costs more than the system calls themselves.
const libc = Deno.dlopen(LIBC, LIBC_SYMBOLS).symbols;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cString = (path: string) => encoder.encode(`${path}\0`);
/** A C string's text, for error messages. */
const text = (c: Uint8Array) => decoder.decode(c.subarray(0, c.byteLength - 1));

function errno(): number {
  const ptr = libc.__errno_location();
  return ptr ? new Deno.UnsafePointerView(ptr).getInt32() : 0;
}

/** The error of the failed call just made. */
function sysError(call: string, path: string): Error & { code?: string } {
  const n = errno();
  const code = ERRNO_CODES[n];
  return Object.assign(new Error(`${call} ${path}: ${code ?? `errno ${n}`}`), code ? { code } : {});
}

function failure(err: unknown): GroupFailure {
  const code = (err as { code?: string }).code;
  return { ...(code ? { code } : {}), message: err instanceof Error ? err.message : String(err) };
}

function writeAt(fd: number, bytes: Uint8Array, position: number, path: string): void {
  for (let offset = 0; offset < bytes.byteLength;) {
    const n = Number(
      libc.pwrite(fd, bytes.subarray(offset), BigInt(bytes.byteLength - offset), BigInt(position + offset)),
    );
    if (n < 0) throw sysError("write", path);
    offset += n;
  }
}

/**
 * A new temp file's name: `tmp/<kind><tag>-<n>`, the tag keeping apart the names of an earlier worker's files and
 * the kind telling spares from files a cycle had to create.
 */
function tempName(kind: typeof SPARE_PREFIX | "small-"): Uint8Array {
  return cString(`${rootPath}/tmp/${kind}${tempTag}-${++tempCount}`);
}

/** Creates the empty file `path`; its descriptor, or -1. */
const createEmpty = (path: Uint8Array) => libc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600);

/** Opens a spare for `item`, or creates a temp file when none is ready (or the spare is gone). */
function openTemp(item: Item): number {
  for (let spare = spares.shift(); spare; spare = spares.shift()) {
    const fd = libc.open(spare, O_WRONLY | O_CLOEXEC, 0);
    if (fd >= 0) {
      item.tmp = spare;
      return fd;
    }
  }
  item.tmp = tempName("small-");
  const fd = createEmpty(item.tmp);
  if (fd < 0) throw sysError("open", text(item.tmp));
  return fd;
}

function create(item: Item): void {
  const fd = openTemp(item);
  try {
    writeAt(fd, item.file, 0, text(item.tmp!));
  } finally {
    libc.close(fd);
  }
}

function removeQuietly(path: Uint8Array | undefined): void {
  if (path) libc.unlink(path); // never created, or gone: nothing to do
}

/** The open log of the data directory `root`. */
function openLog(root: string) {
  const path = `${root}/${LOG_FILE}`;
  const fd = libc.open(cString(path), O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
  if (fd < 0) throw sysError("open", path);
  let size = Number(libc.lseek(fd, 0n, SEEK_END));
  const readAt: ReadAt = (position, length) => {
    const buf = new Uint8Array(length);
    const n = Number(libc.pread(fd, buf, BigInt(length), BigInt(position)));
    return buf.subarray(0, Math.max(n, 0));
  };
  const flush = () => {
    if (libc.fdatasync(fd) !== 0) throw sysError("fdatasync", path);
  };

  /** Fills the log with zeros up to `bytes` and flushes, so later writes into it are pure data writes. */
  function grow(bytes: number) {
    const zeros = new Uint8Array(Math.min(bytes - size, 1024 * 1024));
    for (let at = size; at < bytes; at += zeros.byteLength) {
      writeAt(fd, zeros.subarray(0, Math.min(zeros.byteLength, bytes - at)), at, path);
    }
    flush();
    size = bytes;
  }

  try {
    if (size < LOG_INITIAL) {
      grow(LOG_INITIAL);
      const dir = libc.open(cString(root), O_RDONLY | O_CLOEXEC, 0);
      const synced = dir >= 0 && libc.fsync(dir) === 0;
      if (dir >= 0) libc.close(dir);
      if (!synced) throw sysError("fsync", root);
    }
  } catch (err) {
    libc.close(fd);
    throw err;
  }
  const checkpoint = readCheckpoint(readAt);
  /** Seq of the last record written (or attempted). */
  let seq = scanRecords(readAt, size, checkpoint.seq, () => {});
  let slot = checkpoint.slot;
  let checkpointed = checkpoint.seq;
  let tail = RECORDS_START;
  /** Records left by an earlier worker or by a failed write: to be retired before any new one is written. */
  let stranded = seq !== checkpointed;

  return {
    /** Records not yet retired by a checkpoint. */
    get pending() {
      return seq !== checkpointed;
    },
    get stranded() {
      return stranded;
    },
    /** Appends one record per file and flushes them; throws when the write or the flush failed. */
    append(files: { path: Uint8Array; file: Uint8Array }[], makeRoom: () => void): void {
      const length = files.reduce((n, f) => n + recordLength(f.path, f.file), 0);
      if (tail + length > size && size < LOG_MAX) {
        try {
          grow(Math.min(LOG_MAX, Math.max(size * 2, tail + length)));
        } catch { /* no room to grow: a checkpoint makes room instead */ }
      }
      if (tail + length > size) makeRoom();
      if (tail + length > size) grow(tail + length);
      const out = new Uint8Array(length);
      let at = 0;
      for (const f of files) at = encodeRecord(out, at, { seq: ++seq, ...f });
      try {
        writeAt(fd, out, tail, path);
        flush();
      } catch (err) {
        stranded = true;
        throw err;
      }
      tail += length;
    },
    close(): void {
      libc.close(fd);
    },
    /** Records the last seq as the checkpoint, once everything it covers is durable. */
    retire(): void {
      const next = slot === 0 ? 1 : 0;
      writeAt(fd, encodeHeader(seq), slotOffset(next), path);
      flush();
      slot = next;
      checkpointed = seq;
      tail = RECORDS_START;
      stranded = false;
    },
  };
}

type Log = ReturnType<typeof openLog>;

let rootPath = "";
/** `rootPath` and a slash, encoded: the prefix of every target. */
let rootPrefix = new Uint8Array(0);
/** Opened by the first cycle; again by the next one when opening it failed (a full disk, say). */
let log: Log | undefined;
const tempTag = crypto.getRandomValues(new Uint8Array(6)).toHex();
let tempCount = 0;
/** Empty temp files ready for the next cycles (C strings). */
const spares: Uint8Array[] = [];
/**
 * Cycles the store has sent that this worker has not started (shared memory: the store adds one before it posts a
 * cycle, the worker takes one off when it gets it). Messages queue behind a running task, so this is how a task
 * sees a cycle waiting.
 */
let cyclesSent = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

/**
 * Creates spares until there are `SPARES` or a cycle is waiting; stops at a failure (a full disk, say) until the next
 * cycle. Only while the log is open: from the first cycle until a stop.
 */
function refillSpares(): void {
  while (log !== undefined && spares.length < SPARES && Atomics.load(cyclesSent, 0) === 0) {
    const path = tempName(SPARE_PREFIX);
    const fd = createEmpty(path);
    if (fd < 0) return;
    libc.close(fd);
    spares.push(path);
  }
}

/** Removes the spares (the worker is about to stop). */
function dropSpares(): void {
  for (const path of spares.splice(0)) libc.unlink(path);
}

/** syncfs(2) of the file system holding the data directory. */
function syncRoot(): void {
  const fd = libc.open(cString(rootPath), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw sysError("open", rootPath);
  const failed = libc.syncfs(fd) !== 0 ? sysError("syncfs", rootPath) : undefined;
  libc.close(fd);
  if (failed) throw failed;
}

/** Retires every record written so far (a no-op when there is none). */
function checkpoint(log: Log): void {
  if (!log.pending) return;
  syncRoot();
  log.retire();
}

/** The items of a request (views into its buffer). */
function decodeItems(buffer: ArrayBuffer, length: number, count: number): Item[] {
  const bytes = new Uint8Array(buffer, 0, length);
  const view = new DataView(buffer, 0, length);
  const items: Item[] = [];
  let at = 0;
  const next = (extra: number) => {
    const n = view.getUint32(at, true);
    const out = bytes.subarray(at + 4, at + 4 + n + extra);
    at += 4 + n + extra;
    return out;
  };
  for (let i = 0; i < count; i++) {
    const target = next(1), file = next(0);
    items.push({ target, path: target.subarray(rootPrefix.byteLength, target.byteLength - 1), file });
  }
  return items;
}

const underRoot = (target: Uint8Array) =>
  target.byteLength > rootPrefix.byteLength + 1 && rootPrefix.every((b, i) => target[i] === b);

/** Creates and writes each item's temp file; the indexes of those written. */
function createAll(items: Item[], fail: (i: number, result: GroupResult) => void): number[] {
  const written: number[] = [];
  items.forEach((item, i) => {
    try {
      if (!underRoot(item.target)) throw new RangeError(`Cannot log "${text(item.target)}": not under "${rootPath}"`);
      create(item);
      written.push(i);
    } catch (err) {
      fail(i, { logged: false, renamed: false, error: failure(err) });
      removeQuietly(item.tmp);
    }
  });
  return written;
}

/** Renames a logged item into place; its failure otherwise. */
function renameOne(item: Item): GroupResult | undefined {
  if (libc.rename(item.tmp!, item.target) === 0) return undefined;
  const error = failure(sysError("rename", text(item.target)));
  removeQuietly(item.tmp);
  return { logged: true, renamed: false, error };
}

function cycle(log: Log, items: Item[], wanted: boolean): Omit<GroupReply, "buffer"> {
  const failures: GroupFailureAt[] = [];
  const fail = (index: number, result: GroupResult) => failures.push({ index, ...result });
  const reply: Omit<GroupReply, "buffer"> = { failures, checkpointedFirst: false, checkpointedLast: false };
  try {
    // Records of a failed write or of an earlier worker are retired before new ones reuse the space.
    if (log.stranded) {
      checkpoint(log);
      reply.checkpointedFirst = true;
    }
  } catch (err) {
    return failAll(items, failure(err));
  }
  const written = createAll(items, fail);
  let retire = wanted;
  if (written.length > 0) {
    try {
      log.append(written.map((i) => items[i]!), () => {
        checkpoint(log);
        reply.checkpointedFirst = true;
      });
    } catch (err) {
      const error = failure(err);
      for (const i of written) {
        fail(i, { logged: false, renamed: false, error });
        removeQuietly(items[i]!.tmp);
      }
      // The records may have reached the disk anyway: retired, they are never replayed.
      written.length = 0;
      retire = true;
    }
    for (const i of written) {
      const failed = renameOne(items[i]!);
      if (failed) {
        fail(i, failed);
        retire = true;
      }
    }
  }
  failures.sort((a, b) => a.index - b.index);
  if (retire) {
    try {
      checkpoint(log);
      reply.checkpointedLast = true;
    } catch (err) {
      reply.checkpointError = failure(err);
    }
  }
  return reply;
}

function failAll(items: Item[], error: GroupFailure): Omit<GroupReply, "buffer"> {
  return {
    failures: items.map((_, index) => ({ index, logged: false, renamed: false, error })),
    checkpointedFirst: false,
    checkpointedLast: false,
    checkpointError: error,
  };
}

function run(request: Exclude<GroupRequest, { root: string }>): Omit<GroupReply, "buffer"> {
  const items = decodeItems(request.buffer, request.length, request.count);
  try {
    log ??= openLog(rootPath);
  } catch (err) {
    return failAll(items, failure(err));
  }
  const reply = cycle(log, items, request.checkpoint);
  if (request.stop) {
    log.close();
    log = undefined;
    dropSpares();
  }
  return reply;
}

self.onmessage = (e: MessageEvent<GroupRequest>) => {
  const request = e.data;
  if ("root" in request) {
    rootPath = request.root;
    rootPrefix = encoder.encode(`${rootPath}/`);
    cyclesSent = request.cyclesSent;
  } else {
    Atomics.sub(cyclesSent, 0, 1);
    const reply = { ...run(request), buffer: request.buffer };
    self.postMessage(reply satisfies GroupReply, [request.buffer]);
    refillSpares();
  }
};
