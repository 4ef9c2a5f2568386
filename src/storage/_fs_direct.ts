/**
 * Direct writes of large files: the full blocks of an upload go to the disk with `O_DIRECT` (libc's `open` and
 * `pwrite` through FFI, the write on Deno's blocking pool), not through the page cache. A buffered write copies
 * each block into freshly allocated page-cache pages, and here (a VM) that copy cost 0.2–2.5 ms of CPU per MiB,
 * the most right after large files were deleted (their pages had gone back to the host), where a direct write
 * hands the block itself to the disk. The unaligned rest of a file (its last bytes and the metadata) is written
 * through the page cache as before, and the fsync that ends the file covers both. The data of a new object is
 * then not in the page cache; reads of it come from the disk.
 *
 * Needs FFI permission and glibc's libc.so.6 (the appliance runs with -A on Debian). Without them, on a file
 * system without `O_DIRECT` (tmpfs), or after any failed direct write (which the caller redoes buffered, so a
 * full disk still reports NoSpace), files are written through the page cache.
 *
 * @module
 */
import { loadLibrary } from "./_ffi_library.ts";
import { LIBC, O_CLOEXEC, O_DIRECT, O_WRONLY } from "./_libc.ts";

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize", nonblocking: true },
} as const;

/** Address, length and file offset of a direct write are multiples of this (covers 512 and 4096-byte sectors). */
export const DIRECT_ALIGN = 4096;

/** A second descriptor of a file being written, for its aligned blocks. */
export interface DirectFile {
  /** Whether `data` may go direct at `offset`. */
  fits(data: Uint8Array, offset: number): boolean;
  /** Writes `data` at `offset`; false when the write failed or was short (the caller writes it buffered). */
  write(data: Uint8Array, offset: number): Promise<boolean>;
  /** Closes the descriptor (the caller has awaited its writes). */
  close(): void;
}

export interface DirectWrites {
  /** Opens an existing file for direct writes; undefined when that is not possible. */
  open(path: string): DirectFile | undefined;
  /** Unloads libc once no file is open. */
  close(): void;
}

/** What opening a direct descriptor needs of a loaded libc. */
interface LibcFiles {
  symbols: { open(path: Uint8Array, flags: number): number; close(fd: number): number };
  acquire(): boolean;
  release(): void;
}

/** A descriptor opened with `O_DIRECT`, counted as a user of its library until it is closed. */
export interface DirectFd {
  readonly fd: number;
  readonly closed: boolean;
  /** Closes the descriptor (once; later calls do nothing). */
  close(): void;
}

const encoder = new TextEncoder();

/** Opens `path` with `flags | O_DIRECT | O_CLOEXEC`; undefined when that fails or `lib` was closed. */
export function openDirectFd(lib: LibcFiles, path: string, flags: number): DirectFd | undefined {
  if (!lib.acquire()) return undefined;
  const fd = lib.symbols.open(encoder.encode(`${path}\0`), flags | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    lib.release();
    return undefined;
  }
  let closed = false;
  return {
    fd,
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      lib.symbols.close(fd);
      lib.release();
    },
  };
}

export function openDirectWrites(libc = LIBC): DirectWrites | undefined {
  const lib = loadLibrary(libc, SYMBOLS);
  if (!lib) return undefined;
  const fns = lib.symbols;
  const address = (data: Uint8Array) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data)));
  return {
    open(path) {
      const file = openDirectFd(lib, path, O_WRONLY);
      if (!file) return undefined;
      return {
        fits: (data, offset) =>
          !file.closed && data.byteLength > 0 && data.byteLength % DIRECT_ALIGN === 0 && offset % DIRECT_ALIGN === 0 &&
          address(data) % DIRECT_ALIGN === 0,
        async write(data, offset) {
          const n = await fns.pwrite(file.fd, data, BigInt(data.byteLength), BigInt(offset));
          return Number(n) === data.byteLength;
        },
        close: file.close,
      };
    },
    close: () => lib.close(),
  };
}

/**
 * A block of `bytes` whose first byte is aligned for direct writes (a view into a slightly larger buffer; its
 * memory does not move, also when a BYOB read transfers it). A plain block without FFI permission.
 */
export function alignedBlock(bytes: number): Uint8Array<ArrayBuffer> {
  const buffer = new ArrayBuffer(bytes + DIRECT_ALIGN);
  let at: number;
  try {
    at = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)) % BigInt(DIRECT_ALIGN));
  } catch {
    return new Uint8Array(bytes);
  }
  return new Uint8Array(buffer, (DIRECT_ALIGN - at) % DIRECT_ALIGN, bytes);
}
