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
 * thread hand-off, and the create runs on the event loop itself); it posts one message per batch. A batch travels
 * as ONE transferred buffer (`encodeItem`): each PUT writes its file straight into it (no buffer of its own per
 * object) with its target path as a C string the worker hands to libc as it is, and the reply lists only the items
 * that failed. Structured cloning an object and transferring a buffer per item cost more than copying the bytes.
 * The worker names the temp files itself: most are spares it created ahead of need (see the worker).
 *
 * Needs FFI permission and glibc's libc.so.6 (the appliance runs with -A on Debian): without either
 * `createGroupCommit` returns undefined and the store writes small objects the per-file way.
 *
 * @module
 */
import type { GroupFailure, GroupReply, GroupRequest, GroupResult } from "./_fs_group_commit_worker.ts";
import { loadLibrary } from "./_ffi_library.ts";
import { LIBC } from "./_libc.ts";

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

/** How the names of the writer's spare files in `tmp/` begin (empty files kept ready; see the worker). */
export const SPARE_PREFIX = "spare-";
/** Spares kept ready: a few cycles' worth at 16 PUTs in flight; empty files, nothing on disk but their inodes. */
export const SPARES = 64;

/** Most new files per cycle (each at most ~64 KiB). */
const MAX_BATCH = 64;
/** The first size of a batch's buffer (it doubles when a batch needs more). */
const BATCH_BYTES = 128 * 1024;
/**
 * An idle worker is stopped after this long (after a checkpoint), so a process that never closes its store can
 * still exit. Starting it again costs 40-70 ms of CPU (a new isolate loading its modules), so a writer that pauses
 * for seconds keeps it.
 */
const IDLE_MS = 30_000;

/** A file to publish: `write` fills exactly `size` bytes (the whole file) of the buffer it is given. */
export interface GroupItem {
  target: string;
  size: number;
  write(out: Uint8Array): void;
}

const encoder = new TextEncoder();

/**
 * Encodes `item` at `at` of `out` (room for `maxItemBytes`): [u32 length][target path][NUL] [u32 size][file], lengths
 * little-endian without the NUL. Returns the offset after it.
 */
function encodeItem(out: Uint8Array, view: DataView, at: number, item: GroupItem): number {
  const { written } = encoder.encodeInto(item.target, out.subarray(at + 4));
  view.setUint32(at, written, true);
  out[at + 4 + written] = 0;
  at += 4 + written + 1;
  view.setUint32(at, item.size, true);
  item.write(out.subarray(at + 4, at + 4 + item.size));
  return at + 4 + item.size;
}

const maxItemBytes = (item: GroupItem) => 2 * 4 + 3 * item.target.length + 1 + item.size;

export interface GroupCommit {
  /**
   * Writes the file of `item` as a new file in the root's `tmp/`, renames it to `target` and resolves once the
   * object is durable. `write` runs before `publish` returns. `onRenamed` runs as soon as the rename is known to have
   * happened, also when the promise rejects.
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
  target: string;
  onRenamed: () => void;
  resolve(): void;
  reject(err: unknown): void;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** Items waiting for a cycle, encoded into `buf` up to `used`. */
interface Batch {
  buf: Uint8Array<ArrayBuffer>;
  view: DataView;
  used: number;
  items: Pending[];
}

/** A message in flight: its items, the settles waiting for its checkpoint, and whether the worker stops after. */
interface Cycle {
  batch: Pending[];
  waiters: Waiter[];
  stop: boolean;
}

const OK: GroupResult = { logged: true, renamed: true };

function errorOf(failure: GroupFailure): Error {
  if (failure.code === "ENOENT") return new Deno.errors.NotFound(failure.message);
  return Object.assign(new Error(failure.message), failure.code ? { code: failure.code } : {});
}

/** Whether the worker will be able to load libc with every symbol it calls. */
function libcLoads(): boolean {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  const lib = loadLibrary(LIBC, LIBC_SYMBOLS);
  lib?.close();
  return lib !== undefined;
}

/**
 * A group committer for the data directory `root`, or undefined without FFI permission or libc. `idleMs`: how
 * long the worker stays up without work (`IDLE_MS`).
 */
export function createGroupCommit(root: string, options: { idleMs?: number } = {}): GroupCommit | undefined {
  if (!libcLoads()) return undefined;
  let worker: Worker | undefined;
  /** Shared with the running worker: cycles posted to it that it has not taken yet (see the worker). */
  let cyclesSent = new Int32Array(new SharedArrayBuffer(0));
  let queue: Batch[] = [];
  /** A batch buffer the worker gave back, for the next batch (a fresh one per batch is garbage to collect). */
  let spare: ArrayBuffer | undefined;
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
    cyclesSent = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    w.postMessage({ root, cyclesSent } satisfies GroupRequest);
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
    if (reply.buffer.byteLength > (spare?.byteLength ?? 0)) spare = reply.buffer;
    if (reply.checkpointedFirst) retired();
    let f = 0;
    cycle.batch.forEach((p, i) => settle(p, reply.failures[f]?.index === i ? reply.failures[f++]! : OK));
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
      unsettled.add(p.target);
      unsettledDirs.add(p.target.slice(0, p.target.lastIndexOf("/")));
    }
    if (result.renamed) p.onRenamed();
    if (result.error) p.reject(errorOf(result.error));
    else p.resolve();
  }

  function send(cycle: Cycle, checkpoint: boolean, batch?: Batch) {
    running = cycle;
    worker ??= start();
    const buffer = batch?.buf.buffer ?? new ArrayBuffer(0);
    Atomics.add(cyclesSent, 0, 1);
    worker.postMessage(
      {
        buffer,
        length: batch?.used ?? 0,
        count: cycle.batch.length,
        checkpoint,
        stop: cycle.stop,
      } satisfies GroupRequest,
      [buffer],
    );
  }

  /** The batch `item` goes into, with room for it. */
  function batchFor(need: number): Batch {
    let last = queue.at(-1);
    if (!last || last.items.length >= MAX_BATCH) {
      const buf = spare && spare.byteLength >= need
        ? new Uint8Array(spare)
        : new Uint8Array(Math.max(BATCH_BYTES, need));
      spare = undefined;
      last = { buf, view: new DataView(buf.buffer), used: 0, items: [] };
      queue.push(last);
    } else if (last.used + need > last.buf.byteLength) {
      const buf = new Uint8Array(Math.max(2 * last.buf.byteLength, last.used + need));
      buf.set(last.buf.subarray(0, last.used));
      last.buf = buf;
      last.view = new DataView(buf.buffer);
    }
    return last;
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
    const batch = queue.shift();
    const cycle = { batch: batch?.items ?? [], waiters, stop: false };
    waiters = [];
    send(cycle, cycle.waiters.length > 0, batch);
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
        const batch = batchFor(maxItemBytes(item));
        batch.used = encodeItem(batch.buf, batch.view, batch.used, item);
        batch.items.push({ target: item.target, onRenamed, resolve, reject });
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
      for (const b of queue) for (const p of b.items) p.reject(err);
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
