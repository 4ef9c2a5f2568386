/**
 * Group commit of small objects for the fs backend. A small PUT's file (data + metadata, at most ~64 KiB) is
 * handed to a writer worker; the PUTs that arrive while the worker is busy form the next batch, and each cycle
 * of the worker costs ONE fdatasync of a preallocated write-ahead log that holds the batch's files
 * (`_fs_small_log.ts`), instead of an fdatasync and a directory fsync per object. The durability contract is
 * unchanged: the promise resolves only once the object is visible and a crash can no longer lose it (its bytes
 * are in the log until a checkpoint has made the renamed file itself durable; the log is replayed when a store
 * opens), and the temp-file-then-rename publication keeps a crash from ever exposing a torn object.
 *
 * The store changes an object path in other ways too (a large PUT, a copy, a delete, a multipart completion);
 * before such a change, `settle(path)` forces a checkpoint if the path still has a record in the log, so a replay
 * never puts back an older small version over it.
 *
 * The event loop does no file-system call for such a PUT (Deno's asynchronous create and rename each cost a
 * thread hand-off, and the create runs on the event loop itself); it posts one message per batch.
 *
 * Needs FFI permission and glibc's libc.so.6 (the appliance runs with -A on Debian): without either
 * `createGroupCommit` returns undefined and the store writes small objects the per-file way.
 *
 * @module
 */
import type { GroupFailure, GroupItem, GroupReply, GroupRequest, GroupResult } from "./_fs_group_commit_worker.ts";

export const LIBC = "libc.so.6";
export const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  rename: { parameters: ["buffer", "buffer"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  syncfs: { parameters: ["i32"], result: "i32" },
  fsync: { parameters: ["i32"], result: "i32" },
  fdatasync: { parameters: ["i32"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** Most new files per cycle (each at most ~64 KiB). */
const MAX_BATCH = 64;
/**
 * An idle worker is stopped after this long (after a checkpoint), so a process that never closes its store can
 * still exit. Starting it again costs 40-70 ms of CPU (a new isolate loading its modules), so a writer that pauses
 * for seconds keeps it.
 */
const IDLE_MS = 30_000;

export interface GroupCommit {
  /**
   * Writes `bytes` as the new file `tmp`, renames it to `target` and resolves once the object is durable.
   * `onRenamed` runs as soon as the rename is known to have happened, also when the promise rejects.
   */
  publish(item: GroupItem, onRenamed: () => void): Promise<void>;
  /**
   * Resolves once no record of `path` can be replayed any more: at once when it has none, else after a
   * checkpoint. Called before `path` changes in another way, with the changes to `path` serialized.
   */
  settle(path: string): Promise<void> | undefined;
  /** `settle` for every path under the directory `dir` (before it is removed). */
  settleUnder(dir: string): Promise<void> | undefined;
  /** Finishes the cycle in flight, retires the log's records and stops the worker; queued items are rejected. */
  close(): Promise<void>;
}

interface Pending {
  item: GroupItem;
  onRenamed: () => void;
  resolve(): void;
  reject(err: unknown): void;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** A message in flight: its items, the settles waiting for its checkpoint, and whether the worker stops after. */
interface Cycle {
  batch: Pending[];
  waiters: Waiter[];
  stop: boolean;
}

function errorOf(failure: GroupFailure): Error {
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

/**
 * A group committer for the data directory `root`, or undefined without FFI permission or libc. `idleMs`: how
 * long the worker stays up without work (`IDLE_MS`).
 */
export function createGroupCommit(root: string, options: { idleMs?: number } = {}): GroupCommit | undefined {
  if (!libcLoads()) return undefined;
  let worker: Worker | undefined;
  let queue: Pending[] = [];
  let waiters: Waiter[] = [];
  let running: Cycle | undefined;
  /** Target paths whose record is in the log and not yet retired by a checkpoint. */
  const unsettled = new Set<string>();
  /** The directories of those paths (a few: one per bucket written to), for `settleUnder`. */
  const unsettledDirs = new Set<string>();
  /** A worker died: which records it left is unknown until the next checkpoint, so every path settles. */
  let unknown = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  /** Set by `close`: resolves its promise once the worker is stopped. */
  let closed: { stopped: () => void; done: Promise<void> } | undefined;

  function stop() {
    worker?.terminate();
    worker = undefined;
  }

  function start(): Worker {
    const w = new Worker(new URL("./_fs_group_commit_worker.ts", import.meta.url).href, { type: "module" });
    w.postMessage({ root } satisfies GroupRequest);
    w.onmessage = (e: MessageEvent<GroupReply>) => finish(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      stop();
      unknown = true;
      const err = e.error ?? new Error(e.message);
      const lost = running;
      running = undefined;
      for (const p of lost?.batch ?? []) p.reject(err);
      for (const w of lost?.waiters ?? []) w.reject(err);
      pump();
    };
    return w;
  }

  function finish(reply: GroupReply) {
    const cycle = running!;
    running = undefined;
    if (reply.checkpointedFirst) retired();
    reply.results.forEach((result, i) => settle(cycle.batch[i]!, result));
    if (reply.checkpointedLast) retired();
    for (const w of cycle.waiters) {
      if (reply.checkpointError) w.reject(errorOf(reply.checkpointError));
      else w.resolve();
    }
    if (cycle.stop && (closed || (queue.length === 0 && waiters.length === 0))) stop();
    pump();
  }

  function retired() {
    unsettled.clear();
    unsettledDirs.clear();
    unknown = false;
  }

  function settle(p: Pending, result: GroupResult) {
    if (result.logged) {
      unsettled.add(p.item.target);
      unsettledDirs.add(p.item.target.slice(0, p.item.target.lastIndexOf("/")));
    }
    if (result.renamed) p.onRenamed();
    if (result.error) p.reject(errorOf(result.error));
    else p.resolve();
  }

  function send(cycle: Cycle, checkpoint: boolean) {
    running = cycle;
    worker ??= start();
    const items = cycle.batch.map((p) => p.item);
    worker.postMessage(
      { items, checkpoint, stop: cycle.stop } satisfies GroupRequest,
      items.map((i) => i.bytes.buffer),
    );
  }

  function pump() {
    if (running) return;
    if (closed) {
      if (worker) send({ batch: [], waiters: [], stop: true }, true);
      else closed.stopped();
      return;
    }
    if (queue.length === 0 && waiters.length === 0) {
      if (idle === undefined && worker) {
        idle = setTimeout(() => {
          idle = undefined;
          if (!running && !closed) send({ batch: [], waiters: [], stop: true }, true);
        }, options.idleMs ?? IDLE_MS);
        Deno.unrefTimer(idle);
      }
      return;
    }
    if (idle !== undefined) {
      clearTimeout(idle);
      idle = undefined;
    }
    const batch = queue.splice(0, MAX_BATCH);
    const cycle = { batch, waiters, stop: false };
    waiters = [];
    send(cycle, cycle.waiters.length > 0);
  }

  function checkpointed(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (closed) return reject(new Error("The store was closed"));
      waiters.push({ resolve, reject });
      pump();
    });
  }

  return {
    publish(item, onRenamed) {
      return new Promise<void>((resolve, reject) => {
        if (closed) return reject(new Error("The store was closed"));
        queue.push({ item, onRenamed, resolve, reject });
        pump();
      });
    },
    settle(path) {
      return unknown || unsettled.has(path) ? checkpointed() : undefined;
    },
    settleUnder(dir) {
      const prefix = `${dir}/`;
      if (unknown) return checkpointed();
      for (const d of unsettledDirs) if (d === dir || d.startsWith(prefix)) return checkpointed();
      return undefined;
    },
    close() {
      if (closed) return closed.done;
      if (idle !== undefined) clearTimeout(idle);
      idle = undefined;
      const err = new Error("The store was closed");
      for (const p of queue) p.reject(err);
      for (const w of waiters) w.reject(err);
      queue = [];
      waiters = [];
      let stopped = () => {};
      const done = new Promise<void>((resolve) => stopped = resolve);
      closed = { stopped, done };
      pump();
      return done;
    },
  };
}
