/**
 * Group commit of small objects for the fs backend. A small PUT's file (data + metadata, at most ~64 KiB) is
 * handed to a writer worker; the PUTs that arrive while the worker is busy form the next batch, and each cycle
 * of the worker costs one `syncfs(2)` for all files in flight instead of an fdatasync and a directory fsync per
 * object (`_fs_group_commit_worker.ts`). The durability contract is unchanged: the promise resolves only when
 * the object's data, then its rename into place, are on disk, and the temp-file-then-rename publication keeps a
 * crash from ever exposing a torn object.
 *
 * The event loop does no file-system call for such a PUT (Deno's asynchronous create and rename each cost a
 * thread hand-off, and the create runs on the event loop itself); it posts one message per batch.
 *
 * Needs FFI permission and glibc's libc.so.6 for syncfs (the appliance runs with -A on Debian): without either
 * `createGroupCommit` returns undefined and the store writes small objects the per-file way.
 *
 * @module
 */
import type { GroupItem, GroupReply, GroupRequest, GroupResult } from "./_fs_group_commit_worker.ts";

export const LIBC = "libc.so.6";
export const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  rename: { parameters: ["buffer", "buffer"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  syncfs: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** Most new files per cycle (each at most ~64 KiB). */
const MAX_BATCH = 64;
/**
 * An idle worker is stopped after this long, so a process that never closes its store can still exit. Starting
 * it again costs 40-70 ms of CPU (a new isolate loading its modules), so a writer that pauses for seconds keeps it.
 */
const IDLE_MS = 30_000;

export interface GroupCommit {
  /**
   * Writes `bytes` as the new file `tmp`, renames it to `target` and resolves once both are durable.
   * `onRenamed` runs as soon as the rename is known to have happened, also when a later step (the directory
   * fsync) fails and the promise rejects.
   */
  publish(item: GroupItem, onRenamed: () => void): Promise<void>;
  close(): void;
}

interface Pending {
  item: GroupItem;
  onRenamed: () => void;
  resolve(): void;
  reject(err: unknown): void;
}

function errorOf(failure: NonNullable<GroupResult["error"]>): Error {
  if (failure.code === "ENOENT") return new Deno.errors.NotFound(failure.message);
  return Object.assign(new Error(failure.message), failure.code ? { code: failure.code } : {});
}

function libcLoads(): boolean {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  try {
    Deno.dlopen(LIBC, LIBC_SYMBOLS).close();
    return true;
  } catch {
    return false;
  }
}

/** A group committer for the data directory `root`, or undefined without FFI permission or libc. */
export function createGroupCommit(root: string): GroupCommit | undefined {
  if (!libcLoads()) return undefined;
  let worker: Worker | undefined;
  let queue: Pending[] = [];
  /** Sent in the cycle the worker is running. */
  let running: Pending[] | undefined;
  /** Written and durable in the worker, finished by its next cycle. */
  let staged: Pending[] = [];
  let idle: ReturnType<typeof setTimeout> | undefined;

  function fail(batch: Pending[], err: unknown) {
    for (const p of batch) p.reject(err);
  }

  function stop() {
    worker?.terminate();
    worker = undefined;
  }

  function start(): Worker {
    const w = new Worker(new URL("./_fs_group_commit_worker.ts", import.meta.url).href, { type: "module" });
    w.postMessage({ root } satisfies GroupRequest);
    w.onmessage = (e: MessageEvent<GroupReply>) => {
      const batch = running!;
      const finishing = staged;
      running = undefined;
      staged = [];
      e.data.finished.forEach((result, i) => settle(finishing[i]!, result));
      e.data.results.forEach((result, i) => {
        if (result.staged) staged.push(batch[i]!);
        else settle(batch[i]!, result);
      });
      pump();
    };
    w.onerror = (e) => {
      e.preventDefault();
      stop();
      const lost = [...staged, ...running ?? []];
      running = undefined;
      staged = [];
      fail(lost, e.error ?? new Error(e.message));
      pump();
    };
    return w;
  }

  function settle(p: Pending, result: GroupResult) {
    if (result.renamed) p.onRenamed();
    if (result.error) p.reject(errorOf(result.error));
    else p.resolve();
  }

  function pump() {
    if (running || (queue.length === 0 && staged.length === 0)) {
      if (!running && idle === undefined && worker) {
        const timer = setTimeout(() => {
          idle = undefined;
          if (!running && queue.length === 0) stop();
        }, IDLE_MS);
        Deno.unrefTimer(timer);
        idle = timer;
      }
      return;
    }
    if (idle !== undefined) {
      clearTimeout(idle);
      idle = undefined;
    }
    const batch = queue.length <= MAX_BATCH ? queue : queue.slice(0, MAX_BATCH);
    queue = queue.length <= MAX_BATCH ? [] : queue.slice(MAX_BATCH);
    running = batch;
    worker ??= start();
    const items = batch.map((p) => p.item);
    worker.postMessage({ items } satisfies GroupRequest, items.map((i) => i.bytes.buffer));
  }

  return {
    publish(item, onRenamed) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ item, onRenamed, resolve, reject });
        pump();
      });
    },
    close() {
      if (idle !== undefined) clearTimeout(idle);
      idle = undefined;
      stop();
      const stopped = new Error("The store was closed");
      fail([...staged, ...running ?? [], ...queue], stopped);
      running = undefined;
      staged = [];
      queue = [];
    },
  };
}
