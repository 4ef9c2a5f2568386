/**
 * MD5 of large bodies off the event loop. MD5 is the largest CPU cost of an upload (about 2 ms per MiB with
 * node:crypto here); hashing on a second thread lets one core receive and write while the other hashes.
 * OpenSSL's libcrypto through FFI is preferred (`_md5_libcrypto.ts`: faster, hashes the body's own blocks on
 * Deno's blocking pool); where it cannot be loaded, 1 MiB blocks are copied to a worker running node:crypto's
 * MD5. Each worker hash holds at most two blocks (one filling, one being hashed) and waits when both are busy.
 *
 * @module
 */
import type { BodyHash } from "./_body.ts";
import { createBlockPool } from "./_block_pool.ts";
import type { Md5Reply, Md5Request } from "./_fs_md5_worker.ts";
import { openLibcryptoMd5 } from "./_md5_libcrypto.ts";

const BLOCK = 1024 * 1024;
const BLOCKS_PER_HASH = 2;

interface Waiting {
  onBlock(block: Uint8Array<ArrayBuffer>): void;
  onDigest(hex: string): void;
  onError(err: unknown): void;
}

export interface Md5Offload {
  /** Which implementation hashes. */
  kind: "libcrypto" | "worker";
  create(): BodyHash;
  close(): void;
}

/**
 * libcrypto's MD5 when `libcrypto` (a library name or path, default libcrypto.so.3) loads, otherwise a lazily
 * started MD5 worker; `close()` unloads or ends it.
 */
export function createMd5Offload(options: { libcrypto?: string } = {}): Md5Offload {
  const native = openLibcryptoMd5(options.libcrypto);
  if (native) return { kind: "libcrypto", ...native };
  return createWorkerMd5();
}

function createWorkerMd5(): Md5Offload {
  let worker: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, Waiting>();
  const free = createBlockPool({ blockBytes: BLOCK, maxFree: 8 });

  function start(): Worker {
    const w = new Worker(new URL("./_fs_md5_worker.ts", import.meta.url).href, { type: "module" });
    w.onmessage = (e: MessageEvent<Md5Reply>) => {
      const { id, block, hex } = e.data;
      const w = waiting.get(id);
      if (block) {
        if (w) w.onBlock(block);
        else free.give(block);
      }
      if (hex !== undefined) w?.onDigest(hex);
    };
    w.onerror = (e) => {
      e.preventDefault();
      for (const w of waiting.values()) w.onError(e.error ?? new Error(e.message));
    };
    return w;
  }

  function post(request: Md5Request) {
    worker ??= start();
    worker.postMessage(request, request.block ? [request.block.buffer] : []);
  }

  function create(): BodyHash {
    const id = nextId++;
    /** Blocks of this hash that are back from the worker. */
    const idle: Uint8Array<ArrayBuffer>[] = [];
    let taken = 0;
    let current: Uint8Array<ArrayBuffer> | undefined;
    let used = 0;
    let blockArrived: (() => void) | undefined;
    let digested: { resolve(hex: string): void; reject(err: unknown): void } | undefined;
    let failed: unknown;
    waiting.set(id, {
      onBlock(block) {
        idle.push(block);
        blockArrived?.();
      },
      onDigest: (hex) => digested?.resolve(hex),
      onError(err) {
        failed ??= err;
        blockArrived?.();
        digested?.reject(err);
      },
    });

    async function takeBlock(): Promise<Uint8Array<ArrayBuffer>> {
      while (idle.length === 0 && taken >= BLOCKS_PER_HASH) {
        await new Promise<void>((resolve) => blockArrived = resolve);
        blockArrived = undefined;
        if (failed) throw failed;
      }
      const back = idle.pop();
      if (back) return back;
      taken++;
      return free.take();
    }

    function release() {
      waiting.delete(id);
      for (const b of idle.splice(0)) free.give(b);
    }

    return {
      async update(chunk) {
        if (failed) throw failed;
        for (let rest = chunk; rest.byteLength > 0;) {
          current ??= await takeBlock();
          const n = Math.min(BLOCK - used, rest.byteLength);
          current.set(rest.subarray(0, n), used);
          used += n;
          rest = rest.subarray(n);
          if (used === BLOCK) {
            post({ id, block: current });
            current = undefined;
            used = 0;
          }
        }
      },
      async digest() {
        if (failed) throw failed;
        const hex = new Promise<string>((resolve, reject) => digested = { resolve, reject });
        post({ id, ...(current ? { block: current, length: used } : {}), end: true });
        current = undefined;
        try {
          return await hex;
        } finally {
          release();
        }
      },
      abandon() {
        post({ id, drop: true });
        release();
      },
    };
  }

  return {
    kind: "worker",
    create,
    close() {
      worker?.terminate();
      worker = undefined;
      for (const w of waiting.values()) w.onError(new Error("The MD5 worker was stopped"));
    },
  };
}
