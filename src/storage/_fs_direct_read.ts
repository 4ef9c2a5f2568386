/**
 * Reads of the files an object's data lives in (a multipart object's part files, a simple object's own file), through
 * libc (FFI; each read on Deno's blocking pool). Data that is not in the page cache is read with `O_DIRECT`, straight
 * into the chunks the HTTP server sends, instead of into the page cache and then copied out of it: in alternating runs
 * of the gateway bench the cold 1 GiB download ran 821-946 MiB/s against 600-781 through the page cache, at 0.08-0.10
 * ms of system time per MiB on the reading threads against 0.15-0.23; in the bench's slow phases that copy (perf:
 * `_copy_to_iter` under `filemap_read`) cost 1.1-1.9 ms per MiB. (Reading files alone, without HTTP, read-ahead through
 * the page cache was faster: the gain is the CPU the copy no longer takes from the thread sending the data.) A large
 * download also no longer pushes everything else out of the cache. Data that is cached (read shortly before) is left to
 * the page cache: whether it is, is asked of the kernel (`mincore`) for the first pages a read will cover, before the
 * read.
 *
 * Only for files that are never rewritten in place while they are read (part files are written once and stay while
 * a reader pins them; an object's own file is replaced by a rename, never rewritten, and is reopened only while its
 * path still names the file being read), and only once a reader is seen handing its chunks on (a GET's body,
 * `_fs_read.ts`): a reader that keeps its chunks reads 64 KiB at a time, which the page cache's read-ahead serves
 * faster (502 against 275 MiB/s here).
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
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

/** Room for glibc's `struct stat` (144 bytes on x86-64, 128 on arm64), which starts with `st_dev` and `st_ino`. */
const STAT_BYTES = 256;

const PROT_READ = 1, MAP_SHARED = 1;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** How far past the start of a read `cached` looks: 4 MiB, a few reads' worth. */
const PROBE_PAGES = 1024;

export interface DirectReads {
  /**
   * Opens `path` for direct reads when most of the pages from `first` to `last` (the first PROBE_PAGES of them) are
   * not in the page cache; undefined when they are, when the file system refuses `O_DIRECT` or the file cannot be
   * opened, or when `same` is given and `path` no longer names the file it is open on. Most, not the first: a file
   * whose first pages alone were read (as far as a small read and its read-ahead go) is still cold.
   */
  openIfCold(path: string, first: number, last: number, same?: Deno.FsFile): SegmentFile | undefined;
  /** Unloads libc once no file is open. */
  close(): void;
}

/** Direct reads, or undefined without FFI permission or glibc. */
export function openDirectReads(libc = LIBC): DirectReads | undefined {
  const lib = loadLibrary(libc, SYMBOLS);
  if (!lib) return undefined;
  const fns = lib.symbols;
  const stat = new Uint8Array(new ArrayBuffer(STAT_BYTES));
  const statView = new DataView(stat.buffer);
  /** Whether descriptor `fd` and `file` are open on the same file (device and inode). */
  const sameFile = (fd: number, file: Deno.FsFile) => {
    const { dev, ino } = file.statSync();
    return ino !== null && fns.fstat(fd, stat) === 0 && statView.getBigUint64(0, true) === BigInt(dev) &&
      statView.getBigUint64(8, true) === BigInt(ino);
  };

  /** `mincore`'s answer, a byte per page (an ArrayBuffer made as such: V8 keeps small typed arrays on its heap). */
  const residency = new Uint8Array(new ArrayBuffer(PROBE_PAGES));

  /**
   * Whether at least half of the pages from `first` to `last` (at most PROBE_PAGES) are in the page cache, as
   * `mincore` sees them through a mapping of the file (which reads nothing and starts no read-ahead). Pages past
   * the end count as not cached.
   */
  const cached = (fd: number, first: number, last: number) => {
    const start = first - first % DIRECT_ALIGN;
    const pages = Math.min(PROBE_PAGES, Math.floor(last / DIRECT_ALIGN) - start / DIRECT_ALIGN + 1);
    const length = BigInt(pages * DIRECT_ALIGN);
    const map = fns.mmap(null, length, PROT_READ, MAP_SHARED, fd, BigInt(start));
    if (map === null || Deno.UnsafePointer.value(map) === MAP_FAILED) return false;
    try {
      if (fns.mincore(map, length, residency) !== 0) return false;
      let resident = 0;
      for (let i = 0; i < pages; i++) resident += residency[i]! & 1;
      return 2 * resident >= pages;
    } finally {
      fns.munmap(map, length);
    }
  };

  return {
    openIfCold(path, first, last, same) {
      const file = openDirectFd(lib, path, O_RDONLY);
      if (!file) return undefined;
      if ((same && !sameFile(file.fd, same)) || cached(file.fd, first, last)) {
        file.close();
        return undefined;
      }
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
