/**
 * Typed configuration of `serve` and of the API-client subcommands, parsed from arguments and environment
 * (which `main.ts` reads and passes in; nothing here touches `Deno.args` or `Deno.env`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { AppError } from "./errors.ts";
import type { TlsFiles } from "./tls.ts";

export interface ListenAddress {
  hostname: string;
  /** 0 = pick a free port. */
  port: number;
}

export interface ServeConfig {
  /** Root of all local state. */
  dataDir: string;
  listen: { api: ListenAddress; s3: ListenAddress; iscsi: ListenAddress };
  /** libsql URL (`file:…`, `libsql://…`, `http(s)://…`); undefined = `file:<dataDir>/s3plugin.db`. */
  dbUrl?: string;
  /** Auth token for a remote sqld server. */
  dbAuthToken?: string;
  /** Where the integrity service anchors its checkpoints (default: bucket `s3plugin-integrity` on the default backend). */
  integrityAnchor?: { backend?: string; bucket: string; prefix: string };
  /** Journal successful reads (GET, HEAD, listings) too; default off (failures and denials always are). */
  integrityJournalReads?: boolean;
  /** Serve the S3 gateway over HTTPS with this certificate and key (PEM files); plain HTTP when undefined. */
  s3Tls?: TlsFiles;
  /**
   * A second listener of the management API, over HTTPS, for clients on other hosts; the plain-HTTP one
   * (`listen.api`, loopback by default) stays for the local CLI and TUI.
   */
  apiTls?: TlsFiles & { listen: ListenAddress };
}

export type Env = Record<string, string | undefined>;

/** Dev defaults (ARCHITECTURE.md "Runtime and ports"). */
export const DEFAULTS = {
  dataDir: "./data",
  api: "127.0.0.1:8080",
  s3: "127.0.0.1:9000",
  iscsi: "127.0.0.1:3260",
  /** The management API's HTTPS listener, when it has a certificate: for clients on other hosts. */
  apiTls: "0.0.0.0:8443",
} as const;

/** Each `serve` flag and its environment twin. */
const SERVE_FLAGS = {
  "data-dir": "S3PLUGIN_DATA_DIR",
  "api-listen": "S3PLUGIN_API_LISTEN",
  "s3-listen": "S3PLUGIN_S3_LISTEN",
  "iscsi-listen": "S3PLUGIN_ISCSI_LISTEN",
  "db-url": "S3PLUGIN_DB_URL",
  "integrity-anchor": "S3PLUGIN_INTEGRITY_ANCHOR",
  "integrity-journal-reads": "S3PLUGIN_INTEGRITY_JOURNAL_READS",
  "s3-tls-cert": "S3PLUGIN_S3_TLS_CERT",
  "s3-tls-key": "S3PLUGIN_S3_TLS_KEY",
  "api-tls-listen": "S3PLUGIN_API_TLS_LISTEN",
  "api-tls-cert": "S3PLUGIN_API_TLS_CERT",
  "api-tls-key": "S3PLUGIN_API_TLS_KEY",
} as const;

function configError(message: string): AppError {
  return new AppError("InvalidArgument", message);
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:PORT`); `what` names the flag in error messages. */
export function parseListenAddress(value: string, what: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw configError(`Invalid ${what} "${value}": expected HOST:PORT, e.g. 127.0.0.1:9000`);
  const port = Number(m[3]);
  if (port > 65535) throw configError(`Invalid ${what} "${value}": port must be 0..65535`);
  return { hostname: (m[1] ?? m[2])!, port };
}

/** `HOST:PORT` text of an address (brackets around IPv6). */
export function formatListenAddress(address: ListenAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}

function parseFlags(args: string[], options: Record<string, { type: "string" | "boolean" }>, command: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw configError(`Cannot parse "${command}" arguments: ${(err as Error).message}`);
  }
}

/** `serve` flags win over environment variables, which win over the dev defaults. */
export function parseServeConfig(args: string[], env: Env): ServeConfig {
  const options = Object.fromEntries(Object.keys(SERVE_FLAGS).map((f) => [f, { type: "string" as const }]));
  const { values, positionals } = parseFlags(args, options, "serve");
  if (positionals.length > 0) throw configError(`Unexpected argument "${positionals[0]}" for "serve"`);
  const pick = (flag: keyof typeof SERVE_FLAGS): string | undefined => {
    const v = (values as Record<string, string | undefined>)[flag] ?? env[SERVE_FLAGS[flag]];
    return v === undefined || v === "" ? undefined : v;
  };
  const listen = (flag: "api-listen" | "s3-listen" | "iscsi-listen" | "api-tls-listen", fallback: string) =>
    parseListenAddress(pick(flag) ?? fallback, `--${flag}/${SERVE_FLAGS[flag]}`);
  const dbUrl = pick("db-url");
  if (dbUrl !== undefined && !/^(file:|libsql:|https?:|wss?:)/.test(dbUrl)) {
    throw configError(
      `Invalid --db-url/S3PLUGIN_DB_URL "${dbUrl}": expected file:PATH, libsql://HOST, http(s)://HOST or ws(s)://HOST`,
    );
  }
  const config: ServeConfig = {
    dataDir: pick("data-dir") ?? DEFAULTS.dataDir,
    listen: {
      api: listen("api-listen", DEFAULTS.api),
      s3: listen("s3-listen", DEFAULTS.s3),
      iscsi: listen("iscsi-listen", DEFAULTS.iscsi),
    },
  };
  if (dbUrl !== undefined) config.dbUrl = dbUrl;
  const anchor = pick("integrity-anchor");
  if (anchor !== undefined) config.integrityAnchor = parseAnchorTarget(anchor);
  const reads = pick("integrity-journal-reads");
  if (reads !== undefined) {
    if (reads !== "true" && reads !== "false") {
      throw configError(
        `Invalid --integrity-journal-reads/S3PLUGIN_INTEGRITY_JOURNAL_READS "${reads}": expected true or false`,
      );
    }
    config.integrityJournalReads = reads === "true";
  }
  const tlsFiles = (listener: "s3" | "api", what: string): TlsFiles | undefined => {
    const [cert, key] = [`${listener}-tls-cert`, `${listener}-tls-key`] as const;
    const certFile = pick(cert);
    const keyFile = pick(key);
    if ((certFile === undefined) !== (keyFile === undefined)) {
      throw configError(`HTTPS for ${what} needs both --${cert}/${SERVE_FLAGS[cert]} and --${key}/${SERVE_FLAGS[key]}`);
    }
    return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined;
  };
  const s3Tls = tlsFiles("s3", "the S3 gateway");
  if (s3Tls) config.s3Tls = s3Tls;
  const apiTls = tlsFiles("api", "the management API");
  const apiTlsListen = pick("api-tls-listen");
  if (apiTls) config.apiTls = { ...apiTls, listen: listen("api-tls-listen", DEFAULTS.apiTls) };
  else if (apiTlsListen !== undefined) {
    throw configError(
      "--api-tls-listen/S3PLUGIN_API_TLS_LISTEN needs a certificate and key: --api-tls-cert/S3PLUGIN_API_TLS_CERT and --api-tls-key/S3PLUGIN_API_TLS_KEY",
    );
  }
  const token = env.S3PLUGIN_DB_AUTH_TOKEN;
  if (token) config.dbAuthToken = token;
  return config;
}

/** `[BACKEND:]BUCKET[/PREFIX]`, e.g. `wasabi:audit-anchors/appliance-1/`. */
function parseAnchorTarget(value: string): NonNullable<ServeConfig["integrityAnchor"]> {
  const m = /^(?:([A-Za-z0-9_.-]+):)?([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value.trim());
  if (!m) {
    throw configError(
      `Invalid --integrity-anchor/S3PLUGIN_INTEGRITY_ANCHOR "${value}": expected [BACKEND:]BUCKET[/PREFIX], e.g. wasabi:audit-anchors/appliance-1/`,
    );
  }
  return { ...(m[1] ? { backend: m[1] } : {}), bucket: m[2]!, prefix: m[3] ?? "" };
}

export interface ClientConfig {
  /** Explicit `--api URL`, if given. */
  api?: string;
  /** Explicit `--token T`, if given. */
  token?: string;
  /** `--ca-file FILE`: PEM certificates to trust for an https API (e.g. the appliance's self-signed one). */
  caFile?: string;
  dataDir: string;
  json: boolean;
  /** The remaining arguments for the subcommand's CLI. */
  rest: string[];
}

/**
 * Splits the connection flags (`--api`, `--token`, `--ca-file`, `--data-dir`) off a client subcommand's arguments;
 * everything else (including `--json`, which is also reported) is left for the subcommand.
 */
export function parseClientConfig(args: string[], env: Env): ClientConfig {
  const rest: string[] = [];
  const found: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--(api|token|ca-file|data-dir)(?:=(.*))?$/.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) throw configError(`Missing value for --${m[1]}`);
    found[m[1]!] = value;
  }
  const config: ClientConfig = {
    dataDir: found["data-dir"] ?? env.S3PLUGIN_DATA_DIR ?? DEFAULTS.dataDir,
    json: rest.includes("--json"),
    rest,
  };
  const api = found.api ?? env.S3PLUGIN_API;
  const token = found.token ?? env.S3PLUGIN_API_TOKEN;
  const caFile = found["ca-file"] ?? env.S3PLUGIN_API_CA_FILE;
  if (api) config.api = api;
  if (token) config.token = token;
  if (caFile) config.caFile = caFile;
  return config;
}
