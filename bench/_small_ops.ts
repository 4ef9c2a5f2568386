/**
 * The small-object load of the gateway benchmark: 4 KiB PUTs, then GETs of the same keys, at a fixed concurrency,
 * from one light client that is the same for every server. Each request carries the headers @aws-sdk/client-s3
 * sends for PutObject/GetObject (SigV4 header auth over the payload's SHA-256, `x-amz-checksum-crc32` on PUTs,
 * `x-amz-checksum-mode: ENABLED` on GETs), is signed with @smithy/signature-v4 before the clock starts, and is sent
 * with `fetch`. The SDK client itself costs about 1 ms of CPU per request on the 2-core bench machine — as much
 * as the servers it measures — so with it the client, not the server, set the pace.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { sdkSigner } from "../src/gateway/_testing/harness.ts";

export interface SmallOpsTarget {
  name: string;
  /** Server process, whose CPU time per request is reported. */
  pid: number;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

export interface SmallOpsResult {
  putOps: number;
  getOps: number;
  /** Server CPU time (user + system, all threads) per request, ms. */
  putCpuMs: number;
  getCpuMs: number;
  /** This client's own CPU time per request while the requests run (signing is done before), ms. */
  putClientCpuMs: number;
  getClientCpuMs: number;
}

/** User and system CPU time, in ms, from the text of a /proc `stat` file (a process's or a thread's). */
export function statCpuMs(stat: string): { user: number; sys: number } {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) * 10, sys: Number(fields[12]) * 10 };
}

/** CPU time (user + system, all threads) a process has used so far, in ms. */
export function processCpuMs(pid: number): number {
  const { user, sys } = statCpuMs(Deno.readTextFileSync(`/proc/${pid}/stat`));
  return user + sys;
}

function crc32Base64(body: Uint8Array): string {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, crc32(body));
  return btoa(String.fromCharCode(...bytes));
}

const SDK_HEADERS = { "x-amz-user-agent": "aws-sdk-js/3.1175.0", "amz-sdk-request": "attempt=1; max=1" };

async function signAll(
  t: SmallOpsTarget,
  method: "PUT" | "GET",
  keys: string[],
  body: Uint8Array,
): Promise<{ url: string; headers: Record<string, string> }[]> {
  const url = new URL(t.endpoint);
  const signer = sdkSigner({ accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey });
  const payload: Record<string, string> = method === "PUT"
    ? {
      "content-type": "application/octet-stream",
      "content-length": String(body.byteLength),
      "x-amz-content-sha256": createHash("sha256").update(body).digest("hex"),
      "x-amz-checksum-crc32": crc32Base64(body),
      "x-amz-sdk-checksum-algorithm": "CRC32",
    }
    : {
      "x-amz-content-sha256": createHash("sha256").update("").digest("hex"),
      "x-amz-checksum-mode": "ENABLED",
    };
  return await Promise.all(keys.map(async (key) => {
    const path = `/${t.bucket}/${key}`;
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query: {},
      headers: { host: url.host, "amz-sdk-invocation-id": crypto.randomUUID(), ...SDK_HEADERS, ...payload },
    });
    const headers = { ...signed.headers as Record<string, string> };
    delete headers.host;
    return { url: `${t.endpoint}${path}`, headers };
  }));
}

async function timedParallel(
  pid: number,
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<{ ops: number; cpuMs: number; clientCpuMs: number }> {
  let next = 0;
  const cpu0 = processCpuMs(pid);
  const client0 = processCpuMs(Deno.pid);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await fn(next++);
  }));
  const seconds = (performance.now() - t0) / 1000;
  return {
    ops: count / seconds,
    cpuMs: (processCpuMs(pid) - cpu0) / count,
    clientCpuMs: (processCpuMs(Deno.pid) - client0) / count,
  };
}

/** `count` 4 KiB PUTs under `small/`, then GETs of them, `concurrency` in flight. */
export async function smallOps(t: SmallOpsTarget, count: number, concurrency: number): Promise<SmallOpsResult> {
  const body = new Uint8Array(4096).map((_, i) => i & 0xff);
  const keys = Array.from({ length: count }, (_, i) => `small/${i}`);
  const puts = await signAll(t, "PUT", keys, body);
  const put = await timedParallel(t.pid, count, concurrency, async (i) => {
    const res = await fetch(puts[i]!.url, { method: "PUT", headers: puts[i]!.headers, body });
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`${t.name}: PUT answered ${res.status}`);
  });
  const gets = await signAll(t, "GET", keys, body);
  const get = await timedParallel(t.pid, count, concurrency, async (i) => {
    const res = await fetch(gets[i]!.url, { headers: gets[i]!.headers });
    const got = await res.bytes();
    if (res.status !== 200 || got.byteLength !== body.byteLength) {
      throw new Error(`${t.name}: GET answered ${res.status} with ${got.byteLength} bytes`);
    }
  });
  // The caller's report has no column for it; the client's own CPU per request is printed here.
  console.log(
    `${t.name}: client CPU ${put.clientCpuMs.toFixed(2)} ms per 4 KiB PUT, ${get.clientCpuMs.toFixed(2)} per GET`,
  );
  return {
    putOps: put.ops,
    getOps: get.ops,
    putCpuMs: put.cpuMs,
    getCpuMs: get.cpuMs,
    putClientCpuMs: put.clientCpuMs,
    getClientCpuMs: get.clientCpuMs,
  };
}
