import assert from "node:assert/strict";
import { loadLibrary } from "./_ffi_library.ts";

const SYMBOLS = { getpid: { parameters: [], result: "i32" } } as const;

Deno.test("loadLibrary: a missing library or symbol is undefined, not an error", () => {
  assert.equal(loadLibrary("libdoes-not-exist.so.9", SYMBOLS), undefined);
  assert.equal(loadLibrary("libc.so.6", { no_such_symbol_here: { parameters: [], result: "i32" } }), undefined);
});

Deno.test("loadLibrary: a closed library stays usable by the users it counted, and counts no new one", () => {
  const lib = loadLibrary("libc.so.6", SYMBOLS);
  assert.ok(lib, "the tests run with FFI permission and glibc, as the appliance does");
  assert.equal(lib.acquire(), true);
  assert.equal(lib.acquire(), true);
  lib.close();
  assert.equal(lib.acquire(), false, "no new user after close");
  lib.release();
  // One user is left, so the library is still loaded and its symbols still answer.
  assert.equal(lib.symbols.getpid(), Deno.pid);
  lib.release();
  lib.close();
  assert.equal(lib.acquire(), false);
});

Deno.test("loadLibrary: closed without users, it is unloaded at once and counts no user", () => {
  const lib = loadLibrary("libc.so.6", SYMBOLS);
  assert.ok(lib);
  assert.equal(lib.symbols.getpid(), Deno.pid);
  lib.close();
  assert.equal(lib.acquire(), false);
});
