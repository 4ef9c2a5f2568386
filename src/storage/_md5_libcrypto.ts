/**
 * MD5 from OpenSSL's libcrypto through FFI. It costs ~1.5 ms of CPU per MiB here against ~2 ms for node:crypto's,
 * and a large update is a `nonblocking` call: it runs on a thread of Deno's blocking pool straight over the
 * caller's bytes (no copy, no worker isolate), while the event loop receives the next block. Needs FFI permission
 * (the appliance runs with -A) and libcrypto.so.3 (Debian's libssl3, present on every install); without either,
 * `openLibcryptoMd5` returns undefined and the caller uses its fallback.
 *
 * @module
 */
import type { BodyHash } from "./_body.ts";
import { loadLibrary } from "./_ffi_library.ts";

export const LIBCRYPTO = "libcrypto.so.3";

const SYMBOLS = {
  MD5_Init: { parameters: ["buffer"], result: "i32" },
  MD5_Update: { parameters: ["buffer", "buffer", "usize"], result: "i32", nonblocking: true },
  MD5_UpdateNow: { name: "MD5_Update", parameters: ["buffer", "buffer", "usize"], result: "i32" },
  MD5_Final: { parameters: ["buffer", "buffer"], result: "i32" },
} as const;

/** sizeof(MD5_CTX) is 92 bytes; a little room to spare. */
const CTX_BYTES = 128;
/** Updates of fewer bytes run on the calling thread: a hand-off to the pool costs more than hashing them. */
const OFF_THREAD_BYTES = 64 * 1024;

export interface LibcryptoMd5 {
  create(): BodyHash;
  /** Unloads the library once no update is running. */
  close(): void;
}

/** Loads libcrypto's MD5 from `path`; undefined when it cannot be loaded (missing library or no FFI permission). */
export function openLibcryptoMd5(path: string = LIBCRYPTO): LibcryptoMd5 | undefined {
  const lib = loadLibrary(path, SYMBOLS);
  if (!lib) return undefined;
  const { symbols: fns, acquire, release } = lib;
  const check = (status: number) => {
    if (status !== 1) throw new Error("libcrypto's MD5 failed");
  };

  function create(): BodyHash {
    // An ArrayBuffer's memory does not move, so the pool thread can hold a pointer to it during an update.
    const ctx = new Uint8Array(new ArrayBuffer(CTX_BYTES));
    check(fns.MD5_Init(ctx));
    /** The update in flight; updates of one context run one after another. */
    let last: Promise<void> = Promise.resolve();
    /** Counts a call until it is done, so `close()` cannot unload the library under a queued or running one. */
    const enter = () => {
      if (!acquire()) throw new Error("The MD5 library was closed");
    };
    return {
      update(chunk) {
        enter();
        const n = BigInt(chunk.byteLength);
        // The caller lends `chunk` until the returned promise settles, so the pool thread may read it until then.
        const hashed = last.then(() =>
          chunk.byteLength < OFF_THREAD_BYTES
            ? check(fns.MD5_UpdateNow(ctx, chunk, n))
            : fns.MD5_Update(ctx, chunk, n).then(check)
        );
        last = hashed.finally(release);
        return last;
      },
      async digest() {
        await last;
        enter();
        try {
          const out = new Uint8Array(16);
          check(fns.MD5_Final(out, ctx));
          return out.toHex();
        } finally {
          release();
        }
      },
    };
  }

  return { create, close: () => lib.close() };
}
