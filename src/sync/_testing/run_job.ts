/**
 * Runs one sync job in its own process over two fs stores (argument: JSON {db, primary, mirror, job}), so a
 * test can kill it with SIGKILL mid-run and check what a resume redoes.
 *
 * @module
 */
import { createFsStore } from "../../storage/fs.ts";
import { createHarness } from "./harness.ts";

const { db, primary, mirror, job } = JSON.parse(Deno.args[0]!);
const stores = { p: await createFsStore({ root: primary }), m: await createFsStore({ root: mirror }) };
const h = await createHarness(stores, { db: { url: `file:${db}` } });
await h.engine.run(job);
