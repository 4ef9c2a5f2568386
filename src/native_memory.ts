/**
 * Native memory of the appliance process: glibc's malloc given a fixed mmap threshold.
 *
 * By default glibc raises its mmap threshold (up to 32 MiB) each time a block it had mapped is freed, and serves
 * later blocks below the new threshold from its heaps, where freed space is kept for reuse and, between blocks still
 * in use, never handed back. On the appliance that made the resident size climb with every large upload: 174, 183,
 * 190 and 208 MiB at the peaks of four 5 GiB uploads in a row, while V8's heap and external memory stayed at 24 and
 * 19 MiB. With the threshold fixed just above the 1 MiB blocks bodies are read and written in (which stay in the
 * heaps, where reusing them costs no page faults), larger blocks are mapped and unmapped: 155, 160, 160, 166 and 166
 * MiB over five such uploads (bench/README.md, "Native memory over many large uploads").
 *
 * @module
 */
import { loadLibrary } from "./storage/_ffi_library.ts";
import { LIBC } from "./storage/_libc.ts";

/** `M_MMAP_THRESHOLD` of glibc's `mallopt`. */
const M_MMAP_THRESHOLD = -3;

/** Blocks of at least this many bytes are mapped on their own and unmapped when freed. */
export const MMAP_THRESHOLD_BYTES = 2 * 1024 * 1024;

/** Fixes glibc's mmap threshold at MMAP_THRESHOLD_BYTES; false without FFI permission or glibc. */
export function fixMmapThreshold(): boolean {
  const lib = loadLibrary(LIBC, { mallopt: { parameters: ["i32", "i32"], result: "i32" } });
  if (!lib) return false;
  try {
    return lib.symbols.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) === 1;
  } finally {
    lib.close();
  }
}
