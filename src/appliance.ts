/**
 * The composition root: opens the database, runs first-start setup, builds the backends, the bucket router,
 * the event bus, the S3 gateway, the management API and every service of `serviceFactories`, and stops them
 * all cleanly. The parts written elsewhere (stores, gateway, key store, services) come in as `ApplianceParts`,
 * so tests can run many appliances in one process.
 *
 * @module
 */
import { join } from "node:path";
import { createApi } from "./api/mod.ts";
import { createBackendRegistry } from "./backend_registry.ts";
import { CREDENTIALS_FILE, ensureDefaultBackend, firstStart } from "./bootstrap.ts";
import { createBucketRouter } from "./bucket_router.ts";
import type { Clock } from "./clock.ts";
import { formatListenAddress, type ServeConfig } from "./config.ts";
import { createDb, type Db } from "./db/client.ts";
import { snapshotDatabase } from "./db/backup.ts";
import { acquireDbLease, leaseOwner } from "./db/lease.ts";
import { migrateDb } from "./db/migrate.ts";
import { backendCapacities, capacityMetrics } from "./backend_capacity.ts";
import { type BackendRecord, listBackends, type SecretSealer } from "./db/repos/backends.ts";
import { getSetting, SETTING } from "./db/repos/settings.ts";
import { createEventBus, type EventBus, type OperationEvent } from "./events/mod.ts";
import { AppError, rootMessage } from "./errors.ts";
import { lockExclusively } from "./exclusive_lock.ts";
import { type RunningHttpServer, serveHttp } from "./http_server.ts";
import { serveGateway } from "./gateway/node_server.ts";
import { openCheckedSealer } from "./secret_key_check.ts";
import { certificateMetrics, loadTlsCertificate } from "./tls.ts";
import type { CredentialStore, Gateway } from "./gateway/mod.ts";
import type { AccessKeyStore } from "./db/repos/access_keys.ts";
import type { Logger } from "./log.ts";
import type { RunningService, ServiceContext } from "./service.ts";
import type { ObjectStore } from "./storage/mod.ts";

export const LISTEN_FILE = "listen.json";
const DB_FILE = "s3plugin.db";
/** Where database backups are written, each removed once it is open for the client that asked. */
const SNAPSHOT_DIR = "db-snapshots";
/** Held (flock) while an appliance runs on the data dir; holds its pid. */
const LOCK_FILE = "appliance.lock";

export interface ServiceFactory {
  name: string;
  create(ctx: ServiceContext): Promise<RunningService>;
}

/** Implementations the appliance is composed of (`appliance_parts.ts` has the real ones). */
export interface ApplianceParts {
  clock: Clock;
  logger: Logger;
  /** Where the one-time credentials notice goes (stdout). */
  print(text: string): void;
  /** The data dir's sealer; with `create` false a missing key file is `Deno.errors.NotFound`, not a new key. */
  sealer(dataDir: string, options?: { create?: boolean }): Promise<SecretSealer>;
  openBackend(record: BackendRecord): Promise<ObjectStore>;
  accessKeys(db: Db, sealer: SecretSealer): AccessKeyStore;
  gateway(ctx: ServiceContext & { credentials: CredentialStore }): Gateway;
  services: ServiceFactory[];
  /** How long SIGTERM waits for in-flight requests. */
  drainMs: number;
}

export interface Appliance {
  /** Bound addresses: api, s3 and whatever the services report (e.g. iscsi). */
  addresses: Record<string, string>;
  /** Resolves with the reason when the appliance must stop on its own (its database lease is lost). */
  mustStop: Promise<string>;
  stop(): Promise<void>;
}

export async function createAppliance(config: ServeConfig, parts: ApplianceParts): Promise<Appliance> {
  const { clock, logger, dataDir } = { ...parts, dataDir: config.dataDir };
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Before anything is opened: a second appliance on this data dir would empty the running one's temp files and
  // replay its write-ahead log at open, under its feet.
  const lock = await lockExclusively(
    join(dataDir, LOCK_FILE),
    `Another appliance is running on the data dir ${dataDir}; stop it first or choose another --data-dir`,
  );
  const dbUrl = config.dbUrl ?? `file:${join(dataDir, DB_FILE)}`;
  const handle = createDb(dbUrl, config.dbAuthToken ? { authToken: config.dbAuthToken } : {});
  const cleanups: Array<() => Promise<void> | void> = [() => lock.release(), () => handle.close()];
  const servers: RunningHttpServer[] = [];
  let stopOnOwn!: (reason: string) => void;
  const mustStop = new Promise<string>((resolve) => stopOnOwn = resolve);
  const stopAll = async () => {
    // Stop accepting and drain requests first, then stop services, backends and the database.
    await Promise.all(servers.splice(0).map((s) => s.stop(parts.drainMs)));
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.error("error while stopping", { error: String(err) });
      }
    }
  };
  try {
    return await start();
  } catch (err) {
    await stopAll();
    throw err;
  }

  async function start(): Promise<Appliance> {
    // Leftovers of a backup cut short by a crash (each is removed as soon as it is open, so none is in use now).
    await Deno.remove(join(dataDir, SNAPSHOT_DIR), { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    const s3Tls = config.s3Tls ? await loadTlsCertificate("s3", config.s3Tls, logger) : undefined;
    const apiTls = config.apiTls
      ? { listen: config.apiTls.listen, ...await loadTlsCertificate("api", config.apiTls, logger) }
      : undefined;
    const certificates = [
      ...(s3Tls ? [{ name: "s3", info: s3Tls.info }] : []),
      ...(apiTls ? [{ name: "api", info: apiTls.info }] : []),
    ];
    await migrateDb(handle).catch((err) => {
      throw new AppError("Unavailable", `Cannot open the database ${redactUrl(dbUrl)}: ${rootMessage(err)}`, {
        cause: err,
      });
    });
    const db = handle.db;
    if (config.dbUrl) {
      // A database named by --db-url may be within reach of other appliances: one works on it at a time.
      const lease = await acquireDbLease({
        db,
        clock,
        logger,
        owner: leaseOwner(dataDir),
        database: redactUrl(dbUrl),
        onLost: (reason) => {
          logger.error(`stopping: ${reason}`);
          stopOnOwn(reason);
        },
      });
      cleanups.push(() => lease.release());
    }
    const sealer = await openCheckedSealer(db, dataDir, parts.sealer);
    await ensureDefaultBackend({ db, sealer, clock, dataDir });

    const backends = createBackendRegistry();
    cleanups.push(() => backends.close());
    for (const record of await listBackends(db, sealer)) {
      try {
        await backends.set(record.id, await parts.openBackend(record));
      } catch (err) {
        logger.error("backend cannot be opened; its buckets answer errors", { backend: record.id, error: String(err) });
      }
    }
    const buckets = createBucketRouter({ db, backends, clock });
    const accessKeys = parts.accessKeys(db, sealer);
    const credentials = await firstStart({ db, clock, dataDir, accessKeys, buckets });
    if (credentials) {
      parts.print(
        `First start: admin credentials (shown once, kept in ${join(dataDir, CREDENTIALS_FILE)}, mode 0600):\n` +
          JSON.stringify(credentials, null, 2),
      );
    }

    const events: EventBus<OperationEvent> = createEventBus({
      onSubscriberError: (err) => logger.error("event subscriber failed", { error: String(err) }),
    });
    const listen = {
      api: formatListenAddress(config.listen.api),
      s3: formatListenAddress(config.listen.s3),
      iscsi: formatListenAddress(config.listen.iscsi),
    };
    const ctx: ServiceContext = {
      db,
      dataDir,
      clock,
      logger,
      events,
      backends,
      buckets,
      bucketConfig: buckets,
      listen,
    };
    const running: RunningService[] = [];
    const addresses: Record<string, string> = {};
    const enabled = parts.services.map((f) => f.name);
    const gateway = parts.gateway({
      ...ctx,
      logger: logger.child({ service: "gateway" }),
      credentials: accessKeys.credentials,
    });

    const api = createApi({
      db,
      clock,
      logger: logger.child({ service: "api" }),
      backends,
      buckets,
      sealer,
      openBackend: parts.openBackend,
      accessKeys,
      services: () => running,
      serviceStatus: () => enabled.map((name) => ({ name, ready: running.some((s) => s.name === name) })),
      metrics: () =>
        [
          gateway.metrics(),
          capacityMetrics(backendCapacities(backends, logger)),
          certificateMetrics(certificates),
          ...running.map((s) => s.metrics?.() ?? ""),
        ].filter((t) => t).join("\n"),
      snapshotDatabase: () => {
        if (handle.client.protocol !== "file") {
          throw new AppError("Conflict", `The database is on a server (${redactUrl(dbUrl)}); back it up there`);
        }
        return snapshotDatabase(handle.client, join(dataDir, SNAPSHOT_DIR), clock);
      },
      publicConfig: async () => ({
        dataDir,
        database: redactUrl(dbUrl),
        defaultBackend: await getSetting(db, SETTING.defaultBackend),
        defaultBucket: await getSetting(db, SETTING.defaultBucket),
        addresses,
        services: enabled,
        ...(s3Tls ? { s3Certificate: s3Tls.info } : {}),
        ...(apiTls ? { apiCertificate: apiTls.info } : {}),
      }),
    });
    const apiHandler = (req: Request) => api.fetch(req);
    const apiServer = serveHttp("api", config.listen.api, apiHandler, logger);
    servers.push(apiServer);
    const apiHttpsServer = apiTls
      ? serveHttp("api-https", apiTls.listen, apiHandler, logger, { tls: apiTls })
      : undefined;
    if (apiHttpsServer) servers.push(apiHttpsServer);
    // Over TLS `Deno.serve`, which also speaks HTTP/2 (ALPN); in the clear the gateway's own HTTP/1.1 server, whose
    // downloads are faster (see gateway/node_server.ts).
    const s3Server = s3Tls
      ? serveHttp(
        "s3",
        config.listen.s3,
        (req, info) => gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
        logger,
        { tls: s3Tls, whileStopping: (req, info) => gateway.stopping(req, { remoteAddr: info.remoteAddr.hostname }) },
      )
      : await serveGateway("s3", config.listen.s3, gateway, logger);
    servers.push(s3Server);
    addresses.api = formatListenAddress(apiServer.address);
    if (apiHttpsServer) addresses.apiHttps = formatListenAddress(apiHttpsServer.address);
    addresses.s3 = formatListenAddress(s3Server.address);
    addresses.s3Url = `${s3Tls ? "https" : "http"}://${addresses.s3}`;
    await writeListenFile(dataDir, addresses);

    for (const factory of parts.services) {
      const service = await factory.create({ ...ctx, logger: logger.child({ service: factory.name }) });
      running.push(service);
      cleanups.push(() => service.stop());
      Object.assign(addresses, service.addresses ?? {});
    }
    await writeListenFile(dataDir, addresses);
    logger.info("appliance ready", { ...addresses, services: enabled });
    return { addresses, mustStop, stop: stopAll };
  }
}

/** The database URL without credentials (user info and query such as `authToken`). */
function redactUrl(url: string): string {
  if (url.startsWith("file:")) return url;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

async function writeListenFile(dataDir: string, addresses: Record<string, string>): Promise<void> {
  const path = join(dataDir, LISTEN_FILE);
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(addresses, null, 2) + "\n");
  await Deno.rename(`${path}.tmp`, path);
}
