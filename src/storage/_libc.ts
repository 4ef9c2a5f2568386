/**
 * glibc through FFI, as the fs backend's writers use it: the library's name and the Linux `open(2)` flags. All but
 * `O_DIRECT` have the same value on the 64-bit architectures Debian ships; arm64 gives `O_DIRECT` the value that
 * x86-64 uses for `O_DIRECTORY`.
 *
 * @module
 */

export const LIBC = "libc.so.6";

export const O_RDONLY = 0,
  O_WRONLY = 0o1,
  O_RDWR = 0o2,
  O_CREAT = 0o100,
  O_EXCL = 0o200,
  O_DIRECT = Deno.build.arch === "aarch64" ? 0o200000 : 0o40000,
  O_CLOEXEC = 0o2000000;
