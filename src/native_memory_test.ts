import assert from "node:assert/strict";
import { MMAP_THRESHOLD_BYTES } from "./native_memory.ts";

const MiB = 1024 * 1024;

/**
 * Runs, in a process of its own, the pattern that made the appliance grow: a large block mapped and freed (which
 * raises glibc's default threshold), then an 8 MiB block, a small one allocated after it and kept, and the 8 MiB
 * freed. Returns the resident bytes that freeing it gave back.
 */
async function releasedAfterFree(tuned: boolean): Promise<number> {
  const script = `
    import { fixMmapThreshold } from ${JSON.stringify(new URL("./native_memory.ts", import.meta.url).href)};
    if (${tuned} && !fixMmapThreshold()) throw new Error("mallopt failed");
    const rss = () => Number(Deno.readTextFileSync("/proc/self/statm").split(" ")[1]) * 4096;
    const collect = async () => {
      for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
    };
    let large = new Uint8Array(new ArrayBuffer(${16 * MiB})).fill(1);
    large = undefined;
    await collect();
    let block = new Uint8Array(new ArrayBuffer(${8 * MiB})).fill(2);
    const kept = new Uint8Array(new ArrayBuffer(64 * 1024)).fill(3);
    await collect();
    const before = rss();
    block = undefined;
    await collect();
    console.log(JSON.stringify({ released: before - rss(), kept: kept.length }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout)).released;
}

Deno.test("native memory: with the mmap threshold fixed, a freed large block leaves the resident set", async () => {
  assert.ok(MMAP_THRESHOLD_BYTES > 1024 * 1024 + 4096, "1 MiB body blocks (and their alignment) stay in the heaps");
  const byDefault = await releasedAfterFree(false);
  const tuned = await releasedAfterFree(true);
  assert.ok(byDefault < 2 * MiB, `glibc's default keeps the freed block: ${byDefault} bytes given back`);
  assert.ok(tuned >= 6 * MiB, `with the threshold fixed it is given back: ${tuned} bytes`);
});
