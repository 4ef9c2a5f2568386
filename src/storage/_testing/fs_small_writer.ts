/**
 * Child process for the group-commit crash test: overwrites small objects (`k0`…`k19`, 4 KiB + version bytes,
 * declared length, so they take the group commit) 16 at a time until killed, printing one line per
 * acknowledged PUT: `{"key":"k3","version":57}`.
 *
 * Usage: deno run -A fs_small_writer.ts <root> <bucket>
 *
 * @module
 */
import { createFsStore } from "../fs.ts";
import { smallVersion } from "./small_versions.ts";

const [root, bucket] = Deno.args;
if (!root || !bucket) throw new Error("Usage: fs_small_writer.ts <root> <bucket>");
const store = await createFsStore({ root });
await store.createBucket(bucket);
const out = new TextEncoder();
let next = 0;
await Promise.all(Array.from({ length: 16 }, async () => {
  for (;;) {
    const version = next++;
    const key = `k${version % 20}`;
    const data = smallVersion(version);
    await store.putObject(bucket, key, new Blob([data.slice()]).stream(), { contentLength: data.byteLength });
    Deno.stdout.writeSync(out.encode(JSON.stringify({ key, version }) + "\n"));
  }
}));
