/**
 * The small-object load of the gateway benchmark: 4 KiB PUTs, then GETs of the same keys, at a fixed concurrency,
 * from one light client that is the same for every server. Each request carries the headers @aws-sdk/client-s3
 * sends for PutObject/GetObject (SigV4 header auth over the payload's SHA-256, `x-amz-checksum-crc32` on PUTs,
 * `x-amz-checksum-mode: ENABLED` on GETs), is signed with @smithy/signature-v4 before the clock starts, and is sent
 * on one of `concurrency` kept-alive HTTP/1.1 connections (`_raw_http.ts`). The SDK client itself costs about 1 ms
 * of CPU per request on the 2-core bench machine and `fetch` 0.15-0.25 ms — as much as the servers it measures or
 * most of it — so with them the client, not the server, set the pace.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { sdkSigner } from "../src/gateway/_testing/harness.ts";
import { RawConnection } from "./_raw_http.ts";

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
): Promise<{ path: string; headers: Record<string, string> }[]> {
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
    return { path, headers: signed.headers as Record<string, string> };
  }));
}

/** Runs `fn` for 0 … count-1, `concurrency` at a time, each runner on a connection of its own. */
async function timedParallel(
  t: SmallOpsTarget,
  count: number,
  concurrency: number,
  fn: (conn: RawConnection, i: number) => Promise<void>,
): Promise<{ ops: number; cpuMs: number; clientCpuMs: number }> {
  const { pid } = t;
  const conns = await Promise.all(Array.from({ length: concurrency }, () => RawConnection.open(t.endpoint)));
  let next = 0;
  const cpu0 = processCpuMs(pid);
  const client0 = processCpuMs(Deno.pid);
  const t0 = performance.now();
  try {
    await Promise.all(conns.map(async (conn) => {
      while (next < count) await fn(conn, next++);
    }));
  } finally {
    for (const conn of conns) conn.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    ops: count / seconds,
    cpuMs: (processCpuMs(pid) - cpu0) / count,
    clientCpuMs: (processCpuMs(Deno.pid) - client0) / count,
  };
}

/** `count` 4 KiB PUTs under `prefix`, then GETs of them, `concurrency` in flight. */
async function putsThenGets(t: SmallOpsTarget, prefix: string, count: number, concurrency: number) {
  const body = new Uint8Array(4096).map((_, i) => i & 0xff);
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const puts = await signAll(t, "PUT", keys, body);
  const put = await timedParallel(t, count, concurrency, async (conn, i) => {
    const res = await conn.request("PUT", puts[i]!.path, puts[i]!.headers, body);
    if (res.status !== 200) throw new Error(`${t.name}: PUT answered ${res.status}`);
  });
  const gets = await signAll(t, "GET", keys, body);
  const get = await timedParallel(t, count, concurrency, async (conn, i) => {
    const res = await conn.request("GET", gets[i]!.path, gets[i]!.headers);
    if (res.status !== 200 || res.length !== body.byteLength) {
      throw new Error(`${t.name}: GET answered ${res.status} with ${res.length} bytes`);
    }
  });
  return { put, get };
}

/**
 * `count` 4 KiB PUTs under `small/`, then GETs of them, `concurrency` in flight, measured after an untimed round of
 * `warmup` PUTs and GETs under `warmup/` (the servers' code is compiled by then, as in a server that has run a while).
 */
export async function smallOps(
  t: SmallOpsTarget,
  count: number,
  concurrency: number,
  warmup = 0,
): Promise<SmallOpsResult> {
  if (warmup > 0) await putsThenGets(t, "warmup/", warmup, concurrency);
  const { put, get } = await putsThenGets(t, "small/", count, concurrency);
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
