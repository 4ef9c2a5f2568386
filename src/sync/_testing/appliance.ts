/**
 * A small appliance for sync tests: stores by backend id, S3 gateways over some of them (served on 127.0.0.1:0,
 * publishing on one event bus), the sync service with its routes served for the CLI, and rclone remotes.
 *
 * @module
 */
import { systemClock } from "../../clock.ts";
import { createDb } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { createEventBus, type OperationEvent } from "../../events/mod.ts";
import { createGateway, createStaticCredentialStore } from "../../gateway/mod.ts";
import { silentLogger } from "../../log.ts";
import type { RunningService, ServiceContext } from "../../service.ts";
import type { ObjectStore } from "../../storage/mod.ts";
import { createSyncService } from "../mod.ts";
import { createMemoryBucketConfigStore } from "../../gateway/bucket_config.ts";
import { forwardedRequest } from "../../forwarded_request.ts";

export const KEY = { accessKeyId: "AKSYNCTEST0000000001", secretAccessKey: "sync/test/secret/0000000000000000000000" };

export interface TestAppliance {
  ctx: ServiceContext;
  readonly sync: RunningService;
  /** Stops the sync service and starts a new one on the same database (an appliance restart). */
  restartSync(): Promise<void>;
  /** Sync API base URL (the routes served as the management API mounts them). */
  api: { url: string; token: string };
  /** S3 endpoint of the gateway over each store named in `gateways`. */
  endpoints: Record<string, string>;
  close(): Promise<void>;
}

/** `gateway` is the store the appliance's own gateway serves (ctx.buckets); `extraGateways` serve others. */
export async function startTestAppliance(options: {
  stores: Record<string, ObjectStore>;
  gateway: string;
  extraGateways?: string[];
}): Promise<TestAppliance> {
  const dir = await Deno.makeTempDir({ prefix: "sync-appliance-" });
  const handle = createDb(`file:${dir}/db.sqlite`);
  await migrateDb(handle);
  const events = createEventBus<OperationEvent>();
  const clock = systemClock();
  const logger = silentLogger();
  const servers: Deno.HttpServer[] = [];
  const endpoints: Record<string, string> = {};
  const serve = (
    handler: (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>,
  ) => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    servers.push(server);
    return `http://127.0.0.1:${server.addr.port}`;
  };
  for (const id of [options.gateway, ...(options.extraGateways ?? [])]) {
    const gateway = createGateway({
      buckets: options.stores[id]!,
      credentials: createStaticCredentialStore({
        [KEY.accessKeyId]: { secretAccessKey: KEY.secretAccessKey, admin: true, grants: [] },
      }),
      // Only the appliance's own gateway feeds the sync service's change feed.
      events: id === options.gateway ? events : createEventBus<OperationEvent>(),
      clock,
      logger,
    });
    endpoints[id] = serve((req, info) => gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }));
  }
  const ctx: ServiceContext = {
    db: handle.db,
    dataDir: dir,
    clock,
    logger,
    events,
    backends: {
      get(id) {
        const s = options.stores[id];
        if (!s) throw new Error(`Backend "${id}" does not exist`);
        return s;
      },
      ids: () => Object.keys(options.stores),
    },
    buckets: options.stores[options.gateway]!,
    bucketConfig: createMemoryBucketConfigStore(options.stores[options.gateway]!),
    listen: { api: "127.0.0.1:0", s3: "127.0.0.1:0", iscsi: "127.0.0.1:0" },
  };
  let sync = await createSyncService(ctx, { tickMs: 100 });
  const url = serve((req) => {
    const u = new URL(req.url);
    u.pathname = u.pathname.replace(/^\/api\/v1\/sync/, "") || "/";
    return sync.routes!.fetch(forwardedRequest(u, req));
  });
  return {
    ctx,
    get sync() {
      return sync;
    },
    async restartSync() {
      await sync.stop();
      sync = await createSyncService(ctx, { tickMs: 100 });
    },
    api: { url, token: "unused-in-tests" },
    endpoints,
    async close() {
      await sync.stop();
      for (const s of servers) await s.shutdown();
      handle.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Environment defining rclone S3 remotes (no config file) named after `endpoints`' keys, upper-cased. */
export function rcloneEnv(endpoints: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, endpoint] of Object.entries(endpoints)) {
    const p = `RCLONE_CONFIG_${name.toUpperCase()}_`;
    Object.assign(env, {
      [p + "TYPE"]: "s3",
      [p + "PROVIDER"]: "Other",
      [p + "ENDPOINT"]: endpoint,
      [p + "ACCESS_KEY_ID"]: KEY.accessKeyId,
      [p + "SECRET_ACCESS_KEY"]: KEY.secretAccessKey,
      [p + "REGION"]: "us-east-1",
      [p + "FORCE_PATH_STYLE"]: "true",
    });
  }
  return env;
}

/** Runs rclone (which must be installed) with AWS_CA_BUNDLE unset; returns exit code and output. */
export async function rclone(args: string[], env: Record<string, string>) {
  const cmd = new Deno.Command("rclone", {
    args,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
