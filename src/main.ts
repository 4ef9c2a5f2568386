/**
 * The appliance program: `serve`, `tui`, and the API-client subcommands (`integrity`, `sync`, `blockdev`,
 * `user`). The only module that reads `Deno.args` and `Deno.env`.
 *
 * @module
 */
import { join } from "node:path";
import { createAppliance } from "./appliance.ts";
import { fixMmapThreshold } from "./native_memory.ts";
import { realApplianceParts } from "./appliance_parts.ts";
import { CREDENTIALS_FILE } from "./bootstrap.ts";
import { type ApiTarget, trustingFetch } from "./api/client.ts";
import { type ClientConfig, parseClientConfig, parseServeConfig } from "./config.ts";
import { AppError } from "./errors.ts";
import { createLogger, type LogLevel } from "./log.ts";

type CliModule = { runCli(args: string[], api: ApiTarget): Promise<number> };

/** Client subcommands and the module implementing each. */
const CLI_MODULES: Record<string, () => Promise<CliModule>> = {
  user: () => import("./api/user_cli.ts"),
  db: () => import("./db/cli.ts"),
  blockdev: () => import("./blockdev/cli.ts"),
  sync: () => import("./sync/cli.ts"),
  integrity: () => import("./integrity/cli.ts"),
};

const USAGE = `Usage: s3plugin <command> [options]

Commands:
  serve       run the appliance (S3 gateway, management API and services)
              --data-dir DIR        (S3PLUGIN_DATA_DIR, default ./data)
              --api-listen H:P      (S3PLUGIN_API_LISTEN, default 127.0.0.1:8080)
              --s3-listen H:P       (S3PLUGIN_S3_LISTEN, default 127.0.0.1:9000)
              --iscsi-listen H:P    (S3PLUGIN_ISCSI_LISTEN, default 127.0.0.1:3260)
              --db-url URL          (S3PLUGIN_DB_URL, default file:<data-dir>/s3plugin.db)
              --integrity-anchor [BACKEND:]BUCKET[/PREFIX]
                                    (S3PLUGIN_INTEGRITY_ANCHOR, default s3plugin-integrity on the default backend)
              --integrity-journal-reads true|false
                                    (S3PLUGIN_INTEGRITY_JOURNAL_READS, default false)
              --s3-tls-cert FILE --s3-tls-key FILE
                                    (S3PLUGIN_S3_TLS_CERT, S3PLUGIN_S3_TLS_KEY: PEM files; the S3 gateway speaks
                                    HTTPS with them, plain HTTP without)
              --api-tls-cert FILE --api-tls-key FILE [--api-tls-listen H:P]
                                    (S3PLUGIN_API_TLS_CERT, S3PLUGIN_API_TLS_KEY, S3PLUGIN_API_TLS_LISTEN: a second,
                                    HTTPS listener of the API for other hosts, default 0.0.0.0:8443)
  tui         terminal UI of a running appliance
  ${Object.keys(CLI_MODULES).sort().join(", ")}
              manage a running appliance through its API
              --api URL --token T (default: from the data dir's listen.json and admin-credentials.json), --json
              --ca-file FILE (S3PLUGIN_API_CA_FILE: PEM certificate(s) to trust for an https --api)
`;

const env = Deno.env.toObject();

function fail(message: string, code = 2): never {
  console.error(`s3plugin: ${message}`);
  Deno.exit(code);
}

async function readJsonFile(path: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw new AppError("InvalidArgument", `Cannot read ${path}: ${(err as Error).message}`);
  }
}

/** `--api`/`--token` when given, else what the data dir of a local appliance holds; `--ca-file` read. */
async function resolveApi(config: ClientConfig): Promise<ApiTarget> {
  const listen = await readJsonFile(join(config.dataDir, "listen.json"));
  const creds = await readJsonFile(join(config.dataDir, CREDENTIALS_FILE));
  const address = listen.api?.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
  const url = config.api ?? (address ? `http://${address}` : undefined);
  const token = config.token ?? creds.apiToken;
  if (!url) fail(`no --api given and no ${join(config.dataDir, "listen.json")}; is the appliance running?`);
  if (!token) fail(`no --token given and no apiToken in ${join(config.dataDir, CREDENTIALS_FILE)}`);
  if (config.caFile === undefined) return { url, token };
  try {
    return { url, token, fetch: trustingFetch([await Deno.readTextFile(config.caFile)]) };
  } catch (err) {
    fail(`cannot read the --ca-file ${config.caFile}: ${(err as Error).message}`);
  }
}

async function serve(args: string[]): Promise<void> {
  const config = parseServeConfig(args, env);
  const logger = createLogger({ level: (env.S3PLUGIN_LOG_LEVEL ?? "info") as LogLevel });
  if (!fixMmapThreshold()) logger.warn("glibc's malloc could not be tuned (no FFI permission or no glibc)");
  const integrity = {
    ...(config.integrityAnchor ? { anchor: config.integrityAnchor } : {}),
    ...(config.integrityJournalReads !== undefined ? { journalReads: config.integrityJournalReads } : {}),
  };
  const appliance = await createAppliance(config, realApplianceParts({ logger, integrity }));
  let stopping = false;
  const shutdown = (why: { signal: string } | { reason: string }, code: number) => {
    if (stopping) Deno.exit(1);
    stopping = true;
    logger.info("stopping", why);
    appliance.stop().then(() => Deno.exit(code), (err) => {
      logger.error("stop failed", { error: String(err) });
      Deno.exit(1);
    });
  };
  Deno.addSignalListener("SIGTERM", () => shutdown({ signal: "SIGTERM" }, 0));
  Deno.addSignalListener("SIGINT", () => shutdown({ signal: "SIGINT" }, 0));
  appliance.mustStop.then((reason) => shutdown({ reason }, 1));
}

async function main(): Promise<void> {
  const [command, ...args] = Deno.args;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return;
  }
  if (command === "serve") return await serve(args);
  const load = command === "tui" ? () => import("../tui/main.tsx") : CLI_MODULES[command];
  if (!load) fail(`unknown command "${command}"\n\n${USAGE}`);
  const config = parseClientConfig(args, env);
  const api = await resolveApi(config);
  Deno.exit(await (await load()).runCli(config.rest, api));
}

try {
  await main();
} catch (err) {
  fail(err instanceof AppError ? err.message : String((err as Error).stack ?? err), 1);
}
