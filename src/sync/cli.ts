/**
 * `s3plugin sync …`: a client of `/api/v1/sync`.
 *
 *   sync jobs | show JOB | delete JOB | progress JOB | generations JOB | retention JOB
 *   sync create JOB --source BACKEND:BUCKET[/PREFIX] --target BACKEND:BUCKET[/PREFIX] [--mode mirror|additive]
 *        [--detection manifest|journal] [--interval SECONDS] [--include GLOB]… [--exclude GLOB]…
 *        [--concurrency N] [--bandwidth BYTES_PER_S] [--keep-last N] [--keep-days N] [--reconcile SECONDS]
 *   sync plan JOB [--verify]            the exact plan, one JSON line per object (op, key, size, etag, reason)
 *   sync run JOB [--verify] [--no-wait] apply it; progress on stderr, the summary as JSON on stdout
 *   sync ls JOB --generation N [--prefix P]
 *   sync restore JOB --generation N [--prefix P] [--to BACKEND:BUCKET[/PREFIX]]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { apiFetch, type ApiTarget } from "../api/client.ts";

const USAGE =
  `usage: sync <jobs|create|show|delete|plan|run|progress|generations|ls|restore|retention> [JOB] [options]`;

class UsageError extends Error {}

/** `backend:bucket/prefix` → its parts; the prefix may be empty. */
export function parseLocation(spec: string): { backend: string; bucket: string; prefix: string } {
  const m = /^([^:]+):([^/]+)(?:\/(.*))?$/su.exec(spec);
  if (!m) throw new UsageError(`Cannot parse location "${spec}": expected BACKEND:BUCKET[/PREFIX]`);
  return { backend: m[1]!, bucket: m[2]!, prefix: m[3] ?? "" };
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got "${v}"`);
  return n;
}

async function call(api: ApiTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await apiFetch(api, `/sync${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) {
    throw new Error(`${json?.detail ?? res.statusText} (HTTP ${res.status}${json?.code ? `, ${json.code}` : ""})`);
  }
  return json;
}

function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

function formatProgress(p: Record<string, number | null>): string {
  const mb = (n: number) => (n / 1048576).toFixed(1);
  const eta = p.etaSeconds === null ? "?" : `${Math.round(p.etaSeconds!)}s`;
  return `gen ${p.generation}: ${p.objectsDone}/${p.objectsTotal} objects, ${mb(p.bytesDone!)}/${
    mb(p.bytesTotal!)
  } MiB, ` +
    `${mb(p.bytesPerSecond!)} MiB/s, ETA ${eta}${p.objectsFailed ? `, ${p.objectsFailed} failed` : ""}`;
}

async function runAndWatch(api: ApiTarget, job: string, verify: boolean): Promise<unknown> {
  const done = call(api, "POST", `/jobs/${encodeURIComponent(job)}/run?wait=true${verify ? "&verify=true" : ""}`);
  let finished = false;
  done.finally(() => (finished = true)).catch(() => {});
  while (!finished) {
    await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    if (finished) break;
    const { progress } = await call(api, "GET", `/jobs/${encodeURIComponent(job)}/progress`) as {
      progress: Record<string, number | null> | null;
    };
    if (progress) console.error(formatProgress(progress));
  }
  return await done;
}

async function dispatch(args: string[], api: ApiTarget): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      source: { type: "string" },
      target: { type: "string" },
      mode: { type: "string" },
      detection: { type: "string" },
      interval: { type: "string" },
      include: { type: "string", multiple: true },
      exclude: { type: "string", multiple: true },
      concurrency: { type: "string" },
      bandwidth: { type: "string" },
      "keep-last": { type: "string" },
      "keep-days": { type: "string" },
      reconcile: { type: "string" },
      verify: { type: "boolean" },
      "no-wait": { type: "boolean" },
      generation: { type: "string" },
      prefix: { type: "string" },
      to: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const [command, job] = positionals;
  const path = `/jobs/${encodeURIComponent(job ?? "")}`;
  const needJob = () => {
    if (!job) throw new UsageError(`sync ${command} needs a job id`);
  };
  switch (command) {
    case "jobs":
      return print(await call(api, "GET", "/jobs"));
    case "create": {
      needJob();
      if (!values.source || !values.target) throw new UsageError("sync create needs --source and --target");
      return print(
        await call(api, "POST", "/jobs", {
          id: job,
          source: parseLocation(values.source),
          target: parseLocation(values.target),
          mode: values.mode,
          detection: values.detection,
          intervalSeconds: intOption("interval", values.interval),
          include: values.include,
          exclude: values.exclude,
          concurrency: intOption("concurrency", values.concurrency),
          bandwidthLimit: intOption("bandwidth", values.bandwidth),
          keepLast: intOption("keep-last", values["keep-last"]),
          keepDays: intOption("keep-days", values["keep-days"]),
          reconcileSeconds: intOption("reconcile", values.reconcile),
        }),
      );
    }
    case "show":
      needJob();
      return print(await call(api, "GET", path));
    case "delete":
      needJob();
      await call(api, "DELETE", path);
      return;
    case "plan": {
      needJob();
      const plan = await call(api, "POST", `${path}/plan${values.verify ? "?verify=true" : ""}`) as {
        items: unknown[];
      };
      for (const item of plan.items) console.log(JSON.stringify(item));
      return;
    }
    case "run":
      needJob();
      if (values["no-wait"]) return print(await call(api, "POST", `${path}/run${values.verify ? "?verify=true" : ""}`));
      return print(await runAndWatch(api, job!, values.verify ?? false));
    case "progress":
      needJob();
      return print(await call(api, "GET", `${path}/progress`));
    case "generations":
      needJob();
      return print(await call(api, "GET", `${path}/generations`));
    case "ls": {
      needJob();
      const gen = intOption("generation", values.generation);
      if (gen === undefined) throw new UsageError("sync ls needs --generation N");
      const q = values.prefix ? `?prefix=${encodeURIComponent(values.prefix)}` : "";
      const { objects } = await call(api, "GET", `${path}/generations/${gen}${q}`) as { objects: unknown[] };
      for (const o of objects) console.log(JSON.stringify(o));
      return;
    }
    case "restore": {
      needJob();
      const generation = intOption("generation", values.generation);
      if (generation === undefined) throw new UsageError("sync restore needs --generation N");
      return print(
        await call(api, "POST", `${path}/restore`, {
          generation,
          prefix: values.prefix ?? "",
          ...(values.to ? { to: parseLocation(values.to) } : {}),
        }),
      );
    }
    case "retention":
      needJob();
      return print(await call(api, "POST", `${path}/retention`, {}));
    default:
      throw new UsageError(command ? `unknown sync command "${command}"\n${USAGE}` : USAGE);
  }
}

/** Runs one `sync` subcommand against the API; returns the exit code (2 for usage errors, 1 for failures). */
export async function runCli(args: string[], api: ApiTarget): Promise<number> {
  try {
    await dispatch(args, api);
    return 0;
  } catch (err) {
    console.error(`sync: ${(err as Error).message}`);
    return err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1;
  }
}
