/**
 * The server side of `bench/sync.ts`, in its own process like a real appliance: an S3 gateway over an fs store
 * (counting every HTTP request) and a sync engine whose journal-mode job reads the gateway's change feed.
 * Prints `{"endpoint": …}` once listening. Control routes (not S3): `GET /__bench/requests`,
 * `POST /__bench/journal` (runs the journal job, answers its summary).
 *
 * @module
 */
import { systemClock } from "../src/clock.ts";
import { createDb } from "../src/db/client.ts";
import { migrateDb } from "../src/db/migrate.ts";
import { createEventBus, type OperationEvent } from "../src/events/mod.ts";
import { createGateway, createStaticCredentialStore } from "../src/gateway/mod.ts";
import { silentLogger } from "../src/log.ts";
import { createFsStore } from "../src/storage/fs.ts";
import { createS3Store } from "../src/storage/s3.ts";
import { createChangeFeed } from "../src/sync/change_feed.ts";
import { createSyncEngine } from "../src/sync/engine.ts";
import { jobRowOf } from "../src/sync/jobs.ts";
import { createSyncRepo } from "../src/sync/repo.ts";
import { KEY } from "../src/sync/_testing/appliance.ts";

const dir = Deno.args[0]!;
const fs = await createFsStore({ root: `${dir}/fs` });
const events = createEventBus<OperationEvent>();
const clock = systemClock();
const logger = silentLogger();
const credentials = createStaticCredentialStore({
  [KEY.accessKeyId]: { secretAccessKey: KEY.secretAccessKey, admin: true, grants: [] },
});
const gateway = createGateway({ buckets: fs, credentials, events, clock, logger });

const handle = createDb(`file:${dir}/sync.db`);
await migrateDb(handle);
const repo = createSyncRepo(handle.db);
const feed = createChangeFeed({ events, repo, clock, logger });
feed.watch(["primary"]);

let requests = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req, info) => {
  const path = new URL(req.url).pathname;
  if (path === "/__bench/requests") return Response.json({ requests });
  if (path === "/__bench/journal") return Response.json(await engine.run("journal"));
  requests++;
  return await gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname });
});
const endpoint = `http://127.0.0.1:${server.addr.port}`;
// The journal job reads its source in-process (the appliance's own bucket) and writes the mirror over S3.
const s3 = createS3Store({ endpoint, region: "us-east-1", forcePathStyle: true, ...KEY });
const stores: Record<string, typeof fs> = { gw: s3, gateway: fs };
const engine = createSyncEngine({ repo, clock, logger, feed, resolveStore: (id) => stores[id]! });
const row = jobRowOf({
  id: "journal",
  detection: "journal",
  concurrency: 16,
  source: { backend: "gateway", bucket: "primary" },
  target: { backend: "gw", bucket: "mirror-journal" },
}, clock.now());
await repo.insertJob({ ...row, journalSeq: await repo.headSeq() });

console.log(JSON.stringify({ endpoint }));
const stop = async () => {
  await feed.stop();
  await server.shutdown();
  await s3.close();
  await fs.close();
  handle.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
