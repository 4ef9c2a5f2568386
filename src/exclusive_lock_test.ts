import assert from "node:assert/strict";
import { AppError } from "./errors.ts";
import { lockExclusively } from "./exclusive_lock.ts";

Deno.test("exclusive lock: one holder at a time, named by pid; released by release() or by the holder's exit", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  try {
    const first = await lockExclusively(path, "busy");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
    await assert.rejects(lockExclusively(path, "busy"), (err: unknown) => {
      assert.ok(err instanceof AppError && err.code === "Conflict");
      assert.equal(err.message, `busy (held by pid ${Deno.pid})`);
      return true;
    });
    first.release();
    first.release();
    const second = await lockExclusively(path, "busy");
    second.release();

    // Held by another process that then dies without releasing it (SIGKILL): the kernel drops the lock.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { lockExclusively } from "${new URL("./exclusive_lock.ts", import.meta.url)}";
        await lockExclusively(${JSON.stringify(path)}, "busy"); console.log("locked"); setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /locked/);
    await assert.rejects(lockExclusively(path, "busy"), new RegExp(`held by pid ${child.pid}`));
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    (await lockExclusively(path, "busy")).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
