/**
 * Child process of the kill -9 test: writes 4 KiB blocks through a volume on an fs bucket and prints
 * `ack <n>` after each write is acknowledged, until it is killed.
 *
 * Usage: crash_writer.ts <store root> <cache dir>
 *
 * @module
 */
import { systemClock } from "../../clock.ts";
import { silentLogger } from "../../log.ts";
import { createFsStore } from "../../storage/fs.ts";
import { openVolume } from "../volume.ts";
import { CRASH_SLOTS, crashBlock } from "./crash_plan.ts";

const [root, cacheDir] = Deno.args;
const store = await createFsStore({ root: root! });
const volume = await openVolume({
  loc: { store, bucket: "volumes", prefix: "blockdev/crash" },
  cacheDir: cacheDir!,
  clock: systemClock(),
  logger: silentLogger(),
  flushDelayMs: 5,
  maxDirtyBytes: 1024 * 1024,
});
const encoder = new TextEncoder();
for (let n = 0;; n++) {
  const { offset, data } = crashBlock(n);
  await volume.write(offset, data, { fua: n % 97 === 0 });
  await Deno.stdout.write(encoder.encode(`ack ${n}\n`));
  if (n > 100 * CRASH_SLOTS) break;
}
