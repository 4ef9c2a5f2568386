/**
 * Runs the appliance the way operators do — `deno run -A src/main.ts serve` as a child process on port 0 — and
 * exposes what a client needs: the addresses from `listen.json` and the credentials from
 * `admin-credentials.json`. Also runs the real S3 client tools against it.
 *
 * @module
 */
import { S3Client } from "@aws-sdk/client-s3";
import { join } from "node:path";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
/** The V8 flags `deno task start` and the systemd unit run the appliance with (see docs/configuration.md). */
export const APPLIANCE_V8_FLAGS = "--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20";

export interface AdminCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  apiToken: string;
  bucket: string;
}

export interface RunningAppliance {
  dataDir: string;
  pid: number;
  api: string;
  s3: string;
  creds: AdminCredentials;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  /** Resolves with the exit code once the process has exited (sends nothing). */
  exited: Promise<number>;
  /** Sends a signal (unless the process has exited) and waits for the exit; returns its exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  gone: () => number | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const code = gone();
    if (code !== undefined) throw new Error(`The appliance exited with code ${code} while waiting for ${what}`);
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Starts `serve` on a data dir (a new temp dir unless given) and waits until /api/v1/health answers 200. */
export async function startAppliance(
  options: { dataDir?: string; env?: Record<string, string>; s3Listen?: string } = {},
): Promise<RunningAppliance> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "s3plugin-e2e-" });
  // A stale listen.json from an earlier run must not be mistaken for this one.
  await Deno.remove(join(dataDir, "listen.json")).catch(() => {});
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      APPLIANCE_V8_FLAGS,
      MAIN,
      "serve",
      "--data-dir",
      dataDir,
      "--api-listen",
      "127.0.0.1:0",
      "--s3-listen",
      options.s3Listen ?? "127.0.0.1:0",
      "--iscsi-listen",
      "127.0.0.1:0",
    ],
    env: { S3PLUGIN_LOG_LEVEL: "warn", ...options.env },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) out += decoder.decode(chunk, { stream: true });
  })();
  let exited: number | undefined;
  const status = child.status.then(async (s) => {
    exited = s.code;
    await reading;
    return s.code;
  });
  try {
    const listen = await waitFor("listen.json", async () => {
      const l = JSON.parse(await Deno.readTextFile(join(dataDir, "listen.json")));
      return l.api && l.s3Url ? l as { api: string; s3Url: string } : undefined;
    }, () => exited);
    const api = `http://${listen.api}`;
    await waitFor("health 200", async () => {
      const res = await fetch(`${api}/api/v1/health`);
      await res.body?.cancel();
      return res.status === 200 ? true : undefined;
    }, () => exited);
    const creds = JSON.parse(await Deno.readTextFile(join(dataDir, "admin-credentials.json")));
    return {
      dataDir,
      pid: child.pid,
      api,
      s3: listen.s3Url,
      creds,
      stdout: () => out,
      exited: status,
      async stop(signal: Deno.Signal = "SIGTERM") {
        if (exited === undefined) {
          try {
            child.kill(signal);
          } catch { /* already gone */ }
        }
        return await status;
      },
    };
  } catch (err) {
    if (exited === undefined) child.kill("SIGKILL");
    await status;
    throw err;
  }
}

/**
 * Runs a command; throws with its output when it fails (unless `allowFailure`). `timeoutMs` kills it (SIGKILL) if it
 * has not ended by then, so a command that hangs fails its test instead of holding the suite.
 */
export async function run(
  cmd: string,
  args: string[],
  options: {
    env?: Record<string, string>;
    stdin?: string;
    allowFailure?: boolean;
    cwd?: string;
    timeoutMs?: number;
  } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    // A clean environment: nothing from the caller's shell (e.g. AWS_CA_BUNDLE, AWS_PROFILE) leaks in.
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const timer = options.timeoutMs === undefined
    ? undefined
    : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  const res = await child.output().finally(() => clearTimeout(timer));
  const result = {
    code: res.code,
    stdout: new TextDecoder().decode(res.stdout),
    stderr: new TextDecoder().decode(res.stderr),
  };
  if (result.code !== 0 && !options.allowFailure) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Environment for the AWS CLI / boto3 against the appliance, isolated from any user config. */
export function awsEnv(app: RunningAppliance, home: string): Record<string, string> {
  return {
    HOME: home,
    AWS_ACCESS_KEY_ID: app.creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: app.creds.secretAccessKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: join(home, "aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

/** The Debian AWS CLI against the appliance. */
export function aws(app: RunningAppliance, home: string, args: string[], options: { allowFailure?: boolean } = {}) {
  return run("/usr/bin/aws", ["--endpoint-url", app.s3, ...args], { env: awsEnv(app, home), ...options });
}

/** SHA-256 hex of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const { stdout } = await run("/usr/bin/sha256sum", [path]);
  return stdout.split(" ")[0]!;
}

/** Writes `size` bytes of deterministic pseudo-random data (not all zeros, so nothing can shortcut it). */
export async function writeTestFile(path: string, size: number): Promise<void> {
  await run("/bin/sh", ["-c", `head -c ${size} /dev/urandom > '${path}'`]);
}

/** Peak resident memory of a process in KiB (VmHWM). */
export async function peakRssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

/** Runs `fn` with a fresh appliance and a scratch dir; stops the appliance and removes both afterwards. */
export async function withAppliance(
  fn: (app: RunningAppliance, scratch: string) => Promise<void>,
  options: { env?: Record<string, string>; s3Listen?: string } = {},
): Promise<void> {
  const app = await startAppliance(options);
  const scratch = await Deno.makeTempDir({ prefix: "s3plugin-e2e-scratch-" });
  try {
    await fn(app, scratch);
  } finally {
    await app.stop();
    await Deno.remove(scratch, { recursive: true });
    await Deno.remove(app.dataDir, { recursive: true });
  }
}

/** An AWS SDK v3 client for the appliance's S3 endpoint. */
export function sdkClient(app: RunningAppliance, options: { maxAttempts?: number } = {}): S3Client {
  return new S3Client({
    endpoint: app.s3,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: app.creds.accessKeyId, secretAccessKey: app.creds.secretAccessKey },
    maxAttempts: options.maxAttempts ?? 1,
  });
}

/**
 * PUTs `data` to a presigned URL over a raw socket, trickling the body (`chunk` bytes every `delayMs`), so a
 * test can act while the upload is in flight. Resolves with the HTTP status; rejects if the connection breaks.
 */
export async function trickleUpload(
  presignedUrl: string,
  data: Uint8Array,
  options: { chunk?: number; delayMs?: number; onProgress?: (sent: number) => void } = {},
): Promise<number> {
  const url = new URL(presignedUrl);
  const chunk = options.chunk ?? 256 * 1024;
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  try {
    const head = `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
      `Content-Length: ${data.length}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    for (let sent = 0; sent < data.length; sent += chunk) {
      await new Promise((r) => setTimeout(r, options.delayMs ?? 20));
      const piece = data.subarray(sent, sent + chunk);
      for (let off = 0; off < piece.length;) off += await conn.write(piece.subarray(off));
      options.onProgress?.(sent + piece.length);
    }
    const reply = new Uint8Array(4096);
    const n = await conn.read(reply);
    if (n === null) throw new Error("connection closed before a response");
    const status = /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(reply.subarray(0, n)));
    if (!status) throw new Error("malformed response");
    return Number(status[1]);
  } finally {
    conn.close();
  }
}
