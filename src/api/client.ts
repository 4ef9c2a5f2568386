/**
 * Typed client of the management API: the only way the TUI, the CLIs and the tests talk to an appliance.
 * Problem responses come back as `AppError`s carrying the server's code and message.
 *
 * @example
 * ```ts
 * const api = createApiClient({ url: "http://127.0.0.1:8080", token });
 * const buckets = await api.buckets.list();
 * ```
 *
 * @module
 */
import type { BucketUsage } from "../bucket_usage.ts";
import { AppError, type AppErrorCode } from "../errors.ts";
import type { Grant } from "./routes/access_keys.ts";

export type { BucketUsage };

export interface HealthView {
  status: "ok" | "starting" | "unavailable";
  database: boolean;
  services: { name: string; ready: boolean }[];
  storage: { backend: string; totalBytes: number; availableBytes: number; minFreeBytes: number }[];
}
export interface BackendView {
  id: string;
  kind: "fs" | "s3";
  config: Record<string, unknown>;
  default: boolean;
  createdAt: string;
}
export interface BucketView {
  name: string;
  backend: string;
  default: boolean;
  createdAt: string;
  corsRules: number;
  lifecycleRules: number;
  tags: Record<string, string>;
}
export interface AccessKeyView {
  accessKeyId: string;
  description: string;
  admin: boolean;
  createdAt: string;
  grants: Grant[];
}
export interface ApiTokenView {
  id: string;
  description: string;
  createdAt: string;
}
export interface BackendTestResult {
  ok: boolean;
  latencyMs: number;
  buckets?: number;
  error?: string;
}

/** Where an appliance's API is, and how to reach it. */
export interface ApiTarget {
  /** Base URL of the appliance API, e.g. `http://127.0.0.1:8080` or `https://appliance.example:8443`. */
  url: string;
  token: string;
  /** Replaces global fetch: one that trusts the appliance's own certificate (`trustingFetch`), or `app.request`. */
  fetch?: (req: Request) => Response | Promise<Response>;
}

/** `fetch` that trusts the PEM certificates `caCerts` besides the system's (one HTTP client, one connection pool). */
export function trustingFetch(caCerts: string[]): (req: Request) => Promise<Response> {
  const client = Deno.createHttpClient({ caCerts });
  return (req) => fetch(req, { client });
}

/** Why a request to the API at `base` got no answer, with what to do about a certificate it did not trust. */
function unreachable(base: string, err: unknown): AppError {
  const cause = (err as { cause?: unknown }).cause;
  const reason = cause instanceof Error ? cause.message : (err as Error).message;
  const hint = /UnknownIssuer/.test(reason)
    ? "; trust the API's certificate (or its CA) with --ca-file FILE or S3PLUGIN_API_CA_FILE"
    : /CaUsedAsEndEntity/.test(reason)
    ? "; the API's certificate is a CA certificate (CA:TRUE), which this client refuses as a server's: " +
      "make it with basicConstraints=critical,CA:FALSE"
    : /NotValidForName/.test(reason)
    ? "; the API's certificate does not name this host: use a URL with a name it holds"
    : "";
  return new AppError("Unavailable", `Cannot reach the appliance API at ${base}: ${reason}${hint}`, { cause: err });
}

/**
 * Sends `init` to `/api/v1<path>` of `target` with its token and returns the response as it is; a request that gets
 * no answer fails with an `Unavailable` AppError saying why.
 */
export async function apiFetch(target: ApiTarget, path: string, init: RequestInit = {}): Promise<Response> {
  const base = target.url.replace(/\/+$/, "");
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${target.token}`);
  try {
    return await (target.fetch ?? fetch)(new Request(`${base}/api/v1${path}`, { ...init, headers }));
  } catch (err) {
    throw unreachable(base, err);
  }
}

/** The error an API error response (problem JSON) stands for. */
function problemError(status: number, text: string): AppError {
  let problem: { code?: string; detail?: string } = {};
  try {
    problem = JSON.parse(text);
  } catch {
    problem = { detail: text.slice(0, 200) };
  }
  const code = (problem.code ?? (status === 404 ? "NotFound" : "Internal")) as AppErrorCode;
  return new AppError(code, problem.detail ?? `HTTP ${status}`, { details: { status } });
}

export type ApiClient = ReturnType<typeof createApiClient>;

export function createApiClient(options: ApiTarget) {
  /** Calls `/api/v1<path>` and returns the parsed JSON (undefined for 204). */
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await apiFetch(options, path, init);
    const text = await res.text();
    if (!res.ok && res.status !== 503) throw problemError(res.status, text);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  /** GETs `/api/v1<path>` and returns the body as it streams in; an error answer throws as `request`'s do. */
  async function stream(path: string): Promise<ReadableStream<Uint8Array>> {
    const res = await apiFetch(options, path);
    if (!res.ok || !res.body) throw problemError(res.status, await res.text());
    return res.body;
  }

  const enc = encodeURIComponent;
  return {
    request,
    stream,
    health: () => request<HealthView>("GET", "/health"),
    config: () => request<Record<string, unknown>>("GET", "/config"),
    openapi: () => request<Record<string, unknown>>("GET", "/openapi.json"),
    database: {
      /** A consistent copy of the database file, as it streams in. */
      backup: () => stream("/database/backup"),
    },
    backends: {
      list: () => request<BackendView[]>("GET", "/backends"),
      get: (id: string) => request<BackendView>("GET", `/backends/${enc(id)}`),
      create: (input: { id: string; kind: "fs" | "s3"; config: Record<string, unknown>; default?: boolean }) =>
        request<BackendView>("POST", "/backends", input),
      update: (id: string, input: { config: Record<string, unknown>; default?: boolean }) =>
        request<BackendView>("PUT", `/backends/${enc(id)}`, input),
      delete: (id: string) => request<void>("DELETE", `/backends/${enc(id)}`),
      test: (id: string) => request<BackendTestResult>("POST", `/backends/${enc(id)}/test`),
    },
    buckets: {
      list: () => request<BucketView[]>("GET", "/buckets"),
      get: (name: string) => request<BucketView>("GET", `/buckets/${enc(name)}`),
      create: (input: { name: string; backend?: string }) => request<BucketView>("POST", "/buckets", input),
      delete: (name: string) => request<void>("DELETE", `/buckets/${enc(name)}`),
      usage: (name: string, options: { refresh?: boolean } = {}) =>
        request<BucketUsage>("GET", `/buckets/${enc(name)}/usage${options.refresh ? "?refresh=true" : ""}`),
    },
    apiTokens: {
      list: () => request<ApiTokenView[]>("GET", "/api-tokens"),
      create: (input: { description?: string } = {}) =>
        request<ApiTokenView & { token: string }>("POST", "/api-tokens", input),
      delete: (id: string) => request<void>("DELETE", `/api-tokens/${enc(id)}`),
    },
    accessKeys: {
      list: () => request<AccessKeyView[]>("GET", "/access-keys"),
      get: (id: string) => request<AccessKeyView>("GET", `/access-keys/${enc(id)}`),
      create: (input: { description?: string; admin?: boolean; grants?: Partial<Grant>[] } = {}) =>
        request<AccessKeyView & { secretAccessKey: string }>("POST", "/access-keys", input),
      setGrants: (id: string, grants: Partial<Grant>[]) =>
        request<AccessKeyView>("PUT", `/access-keys/${enc(id)}/grants`, grants),
      delete: (id: string) => request<void>("DELETE", `/access-keys/${enc(id)}`),
    },
  };
}
