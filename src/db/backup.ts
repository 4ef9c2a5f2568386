/**
 * A consistent copy of a running appliance's database file. `VACUUM INTO` reads the database in one read
 * transaction, so the copy is the database at one moment while the appliance goes on writing (WAL mode lets
 * readers and the writer work side by side); copying the file and its `-wal` with `cp` does not give that.
 *
 * @module
 */
import type { Client } from "@libsql/client";
import { join } from "node:path";
import type { Clock } from "../clock.ts";

/**
 * Writes the snapshot to a new file (mode 0600: it holds sealed secrets and token hashes) in `dir` and returns its
 * path; the caller removes it when done.
 */
export async function snapshotDatabase(client: Client, dir: string, clock: Clock): Promise<string> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = clock.now().toISOString().replace(/[-:.]/g, "");
  const path = join(dir, `s3plugin-${stamp}-${crypto.randomUUID().slice(0, 8)}.db`);
  // VACUUM INTO writes into an empty file as it finds it, so the file is made first, with its mode.
  (await Deno.open(path, { write: true, createNew: true, mode: 0o600 })).close();
  try {
    await client.execute({ sql: "VACUUM INTO ?", args: [path] });
  } catch (err) {
    await Deno.remove(path).catch(() => {});
    throw err;
  }
  return path;
}
