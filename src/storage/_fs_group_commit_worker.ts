/**
 * Worker side of `_fs_group_commit.ts`: publishes small files with synchronous system calls on its own thread.
 *
 * With libc's `syncfs(2)` each message runs one cycle: rename the files staged by the previous cycle (their data
 * is already durable), create and write the new ones, then ONE syncfs of the data directory's file system. That
 * single flush makes the new files' data durable and the previous files' renames durable, so a name only ever
 * points at data already on disk, and every cycle costs one journal commit for all the files in flight. A file
 * is thus finished in the cycle after the one that wrote it; the caller sends an empty message to finish the
 * last staged files.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { LIBC, LIBC_SYMBOLS } from "./_fs_group_commit.ts";

export interface GroupItem {
  tmp: string;
  target: string;
  bytes: Uint8Array<ArrayBuffer>;
}
export type GroupRequest = { root: string } | { items: GroupItem[] };
/**
 * Per item: whether the rename happened, the failure (errno code, message) if a step failed, and `staged` when
 * the item's data is durable and it is finished by the next cycle.
 */
export interface GroupResult {
  renamed: boolean;
  staged?: boolean;
  error?: { code?: string; message: string };
}
/** `results` for the message's own items; `finished` for the items staged by the previous cycle, in order. */
export type GroupReply = { results: GroupResult[]; finished: GroupResult[] };

// Linux open(2) flags (the same on every architecture Debian ships).
const O_WRONLY = 0o1, O_CREAT = 0o100, O_EXCL = 0o200, O_CLOEXEC = 0o2000000;
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
/** The data directory, C string, whose file system syncfs flushes (set by the first message). */
let root: Uint8Array<ArrayBuffer> | undefined;

const cString = (path: string) => encoder.encode(`${path}\0`);

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

function failure(err: unknown): GroupResult["error"] {
  const code = (err as { code?: string }).code;
  return { ...(code ? { code } : {}), message: err instanceof Error ? err.message : String(err) };
}

function create(item: GroupItem): void {
  const fd = libc.open(cString(item.tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600);
  if (fd < 0) throw sysError("open", item.tmp);
  try {
    for (let offset = 0; offset < item.bytes.byteLength;) {
      const n = Number(libc.write(fd, item.bytes.subarray(offset), BigInt(item.bytes.byteLength - offset)));
      if (n < 0) throw sysError("write", item.tmp);
      offset += n;
    }
  } finally {
    libc.close(fd);
  }
}

/** syncfs(2) of the file system holding the data directory; an error message when it fails. */
function syncRoot(): string | undefined {
  const fd = libc.open(root!, 0, 0);
  if (fd < 0) return `cannot open the data directory for syncfs (errno ${errno()})`;
  const failed = libc.syncfs(fd) !== 0 ? `syncfs failed (errno ${errno()})` : undefined;
  libc.close(fd);
  return failed;
}

function removeQuietly(path: string): void {
  libc.unlink(cString(path)); // never created, or gone: nothing to do
}

/** Creates and writes each item's temp file; the indexes of those written. */
function createAll(items: GroupItem[], results: GroupResult[]): number[] {
  const written: number[] = [];
  items.forEach((item, i) => {
    try {
      create(item);
      written.push(i);
    } catch (err) {
      results[i]!.error = failure(err);
      removeQuietly(item.tmp);
    }
  });
  return written;
}

function renameOne(item: GroupItem, result: GroupResult): boolean {
  if (libc.rename(cString(item.tmp), cString(item.target)) === 0) {
    result.renamed = true;
  } else {
    result.error = failure(sysError("rename", item.target));
    removeQuietly(item.tmp);
  }
  return result.renamed;
}

/** Staged by the previous cycle: data durable, rename pending. */
let staged: GroupItem[] = [];

function cycle(items: GroupItem[]): GroupReply {
  const finished: GroupResult[] = staged.map(() => ({ renamed: false }));
  staged.forEach((item, i) => renameOne(item, finished[i]!));
  const results: GroupResult[] = items.map(() => ({ renamed: false }));
  const written = createAll(items, results);
  const failed = syncRoot();
  if (failed) {
    const error = { message: failed };
    for (const r of finished) r.error ??= error;
    for (const i of written) {
      results[i]!.error = error;
      removeQuietly(items[i]!.tmp);
    }
    staged = [];
    return { results, finished };
  }
  for (const i of written) results[i]!.staged = true;
  staged = written.map((i) => items[i]!);
  return { results, finished };
}

self.onmessage = (e: MessageEvent<GroupRequest>) => {
  const request = e.data;
  if ("root" in request) {
    root = cString(request.root);
    return;
  }
  self.postMessage(cycle(request.items) satisfies GroupReply);
};
