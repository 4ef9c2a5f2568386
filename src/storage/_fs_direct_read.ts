/**
 * Reads of the part files a multipart object's data lives in, through libc (FFI; each read on Deno's blocking
 * pool). Data that is not in the page cache is read with `O_DIRECT`, straight into the chunks the HTTP server
 * sends, instead of into the page cache and then copied out of it: in alternating runs of the gateway bench the
 * cold 1 GiB download ran 821-946 MiB/s against 600-781 through the page cache, at 0.08-0.10 ms of system time per
 * MiB on the reading threads against 0.15-0.23; in the bench's slow phases that copy (perf: `_copy_to_iter` under
 * `filemap_read`) cost 1.1-1.9 ms per MiB. (Reading files alone, without HTTP, read-ahead through the page cache
 * was faster: the gain is the CPU the copy no longer takes from the thread sending the data.) A large download also
 * no longer pushes everything else out of the cache. Data that is cached (read shortly before) is left to the page
 * cache: whether it is, is asked of the kernel (`mincore`) for the page a read starts from, before the read.
 *
 * Only for files that are never rewritten in place while they are read (part files are written once and stay while
 * a reader pins them), and only once a reader is seen handing its chunks on (a GET's body, `_fs_read.ts`): a reader
 * that keeps its chunks reads 64 KiB at a time, which the page cache's read-ahead serves faster (502 against 275
 * MiB/s here).
 *
 * @module
 */
import { loadLibrary } from "./_ffi_library.ts";
import { DIRECT_ALIGN, openDirectFd } from "./_fs_direct.ts";
import type { SegmentFile } from "./_fs_read.ts";
import { LIBC, O_RDONLY } from "./_libc.ts";

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize", nonblocking: true },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  mincore: { parameters: ["pointer", "usize", "buffer"], result: "i32" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
} as const;

const PROT_READ = 1, MAP_SHARED = 1;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

export interface DirectReads {
  /** Whether the page of `path` holding `position` is in the page cache (false when that cannot be told). */
  cached(path: string, position: number): boolean;
  /** Opens `path` for direct reads; undefined when the file system refuses `O_DIRECT` or the file cannot be opened. */
  open(path: string): SegmentFile | undefined;
  /** Unloads libc once no file is open. */
  close(): void;
}

/** Direct reads, or undefined without FFI permission or glibc. */
export function openDirectReads(libc = LIBC): DirectReads | undefined {
  const lib = loadLibrary(libc, SYMBOLS);
  if (!lib) return undefined;
  const fns = lib.symbols;
  /** `mincore`'s answer for one page (an ArrayBuffer made as such: V8 keeps small typed arrays on its heap). */
  const residency = new Uint8Array(new ArrayBuffer(1));

  /**
   * Whether the page holding `position` is in the page cache, as `mincore` sees it through a one-page mapping of
   * the file (which reads nothing and starts no read-ahead). A position past the end counts as not cached.
   */
  const cached = (fd: number, position: number) => {
    const page = BigInt(DIRECT_ALIGN);
    const map = fns.mmap(null, page, PROT_READ, MAP_SHARED, fd, BigInt(position - position % DIRECT_ALIGN));
    if (map === null || Deno.UnsafePointer.value(map) === MAP_FAILED) return false;
    const resident = fns.mincore(map, page, residency) === 0 && (residency[0]! & 1) === 1;
    fns.munmap(map, page);
    return resident;
  };

  return {
    cached(path, position) {
      const file = openDirectFd(lib, path, O_RDONLY);
      if (!file) return false;
      try {
        return cached(file.fd, position);
      } finally {
        file.close();
      }
    },
    open(path) {
      const file = openDirectFd(lib, path, O_RDONLY);
      if (!file) return undefined;
      return {
        align: DIRECT_ALIGN,
        async readAt(into, at) {
          const n = Number(await fns.pread(file.fd, into, BigInt(into.byteLength), BigInt(at)));
          if (n < 0) throw new Error(`Cannot read ${path} at ${at}`);
          return n;
        },
        close: file.close,
      };
    },
    close: () => lib.close(),
  };
}
