/**
 * A native library loaded through FFI by one owner and used by many short users (open files, running hashes): it is
 * unloaded once its owner has closed it and its last user is done, so no call runs into an unloaded library.
 *
 * @module
 */

export interface SharedLibrary<S extends Deno.ForeignLibraryInterface> {
  symbols: Deno.DynamicLibrary<S>["symbols"];
  /** Counts a new user; false (nothing counted) once the owner has closed the library. */
  acquire(): boolean;
  /** Ends a user counted by `acquire`. */
  release(): void;
  /** Unloads the library now or when its last user is done; later `acquire` calls fail. */
  close(): void;
}

/** Loads `path`; undefined when that is not possible (missing library or symbol, no FFI permission). */
export function loadLibrary<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): SharedLibrary<S> | undefined {
  let lib: Deno.DynamicLibrary<S>;
  try {
    lib = Deno.dlopen(path, symbols);
  } catch {
    return undefined;
  }
  let users = 0;
  let closing = false;
  return {
    symbols: lib.symbols,
    acquire() {
      if (closing) return false;
      users++;
      return true;
    },
    release() {
      if (--users === 0 && closing) lib.close();
    },
    close() {
      if (closing) return;
      closing = true;
      if (users === 0) lib.close();
    },
  };
}
