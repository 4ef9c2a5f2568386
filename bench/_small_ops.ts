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
  return bytes.toBase64();
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

/**
 * Runs `count` requests split evenly among the servers of `group`, `concurrency` connections in all (as evenly
 * split), each runner on a connection of its own: `fn(t, j, conn, i)` sends request `i` of server `j`'s share. Returns
 * the requests per second over all, the group's server CPU and this client's CPU per request.
 */
async function timedPhase(
  group: SmallOpsTarget[],
  count: number,
  concurrency: number,
  fn: (t: SmallOpsTarget, j: number, conn: RawConnection, i: number) => Promise<void>,
): Promise<{ ops: number; cpuMs: number; clientCpuMs: number }> {
  const share = count / group.length;
  const conns = await Promise.all(
    group.map((t) =>
      Promise.all(Array.from({ length: concurrency / group.length }, () => RawConnection.open(t.endpoint)))
    ),
  );
  const groupCpu = () => group.reduce((sum, t) => sum + processCpuMs(t.pid), 0);
  const cpu0 = groupCpu();
  const client0 = processCpuMs(Deno.pid);
  const t0 = performance.now();
  try {
    await Promise.all(group.map((t, j) => {
      let next = 0;
      return Promise.all(conns[j]!.map(async (conn) => {
        while (next < share) await fn(t, j, conn, next++);
      }));
    }));
  } finally {
    for (const conn of conns.flat()) conn.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    ops: count / seconds,
    cpuMs: (groupCpu() - cpu0) / count,
    clientCpuMs: (processCpuMs(Deno.pid) - client0) / count,
  };
}

/**
 * `count` 4 KiB PUTs under `prefix`, then GETs of them, `concurrency` in flight; with several servers in `group`, the
 * keys and connections split evenly among them (they take the load together).
 */
export async function putsThenGets(group: SmallOpsTarget[], prefix: string, count: number, concurrency: number) {
  if (count % group.length !== 0 || concurrency % group.length !== 0) {
    throw new Error(`${group.length} servers cannot share ${count} requests on ${concurrency} connections evenly`);
  }
  const body = new Uint8Array(4096).map((_, i) => i & 0xff);
  const keys = Array.from({ length: count / group.length }, (_, i) => `${prefix}${i}`);
  const puts = await Promise.all(group.map((t) => signAll(t, "PUT", keys, body)));
  const put = await timedPhase(group, count, concurrency, async (t, j, conn, i) => {
    const res = await conn.request("PUT", puts[j]![i]!.path, puts[j]![i]!.headers, body);
    if (res.status !== 200) throw new Error(`${t.name}: PUT answered ${res.status}`);
  });
  const gets = await Promise.all(group.map((t) => signAll(t, "GET", keys, body)));
  const get = await timedPhase(group, count, concurrency, async (t, j, conn, i) => {
    const res = await conn.request("GET", gets[j]![i]!.path, gets[j]![i]!.headers);
    if (res.status !== 200 || res.length !== body.byteLength) {
      throw new Error(`${t.name}: GET answered ${res.status} with ${res.length} bytes`);
    }
  });
  return { put, get };
}

export function result(run: Awaited<ReturnType<typeof putsThenGets>>): SmallOpsResult {
  const { put, get } = run;
  return {
    putOps: put.ops,
    getOps: get.ops,
    putCpuMs: put.cpuMs,
    getCpuMs: get.cpuMs,
    putClientCpuMs: put.clientCpuMs,
    getClientCpuMs: get.clientCpuMs,
  };
}

export interface SmallOpsPlan {
  /** Timed PUTs (then GETs) per server and round. */
  count: number;
  concurrency: number;
  /** Untimed PUTs and GETs per server first, under `warmup/` (its code compiled, as after running a while). */
  warmup: number;
  rounds: number;
  /**
   * Runs before every timed turn, untimed: the bench flushes the file system's dirty pages here, so that no server
   * pays for the writeback of another's writes (s3rver does not flush its files; the kernel would write them back
   * during the next server's turn, and the appliance's `syncfs` checkpoints would wait for them).
   */
  beforeTurn?: () => Promise<void>;
}

/**
 * The small-object phase: each server's warm-up, then `rounds` rounds in which every server gets `count` 4 KiB PUTs
 * then GETs of them under `small/<round>/`. The servers take turns within a round, in reverse order every other
 * round (A B C, C B A, …), so a slow phase of the shared machine falls on all of them, not on one. Returns each
 * server's results by name, in round order.
 */
export async function smallOpsRounds(
  targets: SmallOpsTarget[],
  plan: SmallOpsPlan,
): Promise<Map<string, SmallOpsResult[]>> {
  if (plan.warmup > 0) {
    for (const t of targets) await putsThenGets([t], "warmup/", plan.warmup, plan.concurrency);
  }
  const results = new Map(targets.map((t) => [t.name, [] as SmallOpsResult[]]));
  for (let round = 0; round < plan.rounds; round++) {
    const order = round % 2 === 0 ? targets : targets.toReversed();
    for (const t of order) {
      await plan.beforeTurn?.();
      results.get(t.name)!.push(result(await putsThenGets([t], `small/${round}/`, plan.count, plan.concurrency)));
    }
  }
  return results;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = values.toSorted((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Each field's median over the rounds. */
export function medianResult(rounds: SmallOpsResult[]): SmallOpsResult {
  const of = (field: keyof SmallOpsResult) => median(rounds.map((r) => r[field]));
  return {
    putOps: of("putOps"),
    getOps: of("getOps"),
    putCpuMs: of("putCpuMs"),
    getCpuMs: of("getCpuMs"),
    putClientCpuMs: of("putClientCpuMs"),
    getClientCpuMs: of("getClientCpuMs"),
  };
}

/** `x` rounded, with thousands separators (3,572), as the bench prints its rates. */
export const thousands = (x: number) => Math.round(x).toLocaleString("en-US");

/**
 * Report lines of a `smallOpsRounds` run: every round's PUT/s and GET/s per server, `subject` against `anchor` in each
 * round (the ratio of the same round, so both saw the same machine) with the median, and every server's medians as a
 * share of `ceiling`'s.
 */
export function describeRounds(
  results: Map<string, SmallOpsResult[]>,
  subject: string,
  anchor: string,
  ceiling: string,
): string[] {
  const of = (name: string) => results.get(name)!;
  const lines = [...results].map(([name, rounds]) => {
    const m = medianResult(rounds);
    return `${name}: PUT/s ${rounds.map((r) => thousands(r.putOps)).join(", ")}; GET/s ${
      rounds.map((r) => thousands(r.getOps)).join(", ")
    }; median server CPU ${m.putCpuMs.toFixed(2)} ms per PUT, ${m.getCpuMs.toFixed(2)} per GET; client ${
      m.putClientCpuMs.toFixed(2)
    } / ${m.getClientCpuMs.toFixed(2)}`;
  });
  const ratios = (field: "putOps" | "getOps") => of(subject).map((r, i) => r[field] / of(anchor)[i]![field]);
  const ratioLine = (label: string, values: number[]) =>
    `${label} ${values.map((x) => `${x.toFixed(1)}×`).join(", ")} (median ${median(values).toFixed(1)}×)`;
  lines.push(
    `${subject} vs ${anchor}, round by round: ${ratioLine("PUT", ratios("putOps"))}; ${
      ratioLine("GET", ratios("getOps"))
    }`,
  );
  const top = medianResult(of(ceiling));
  lines.push(
    `share of ${ceiling} (medians): ${
      [...results.keys()].filter((name) => name !== ceiling).map((name) => {
        const m = medianResult(of(name));
        return `${name} PUT ${(100 * m.putOps / top.putOps).toFixed(0)}%, GET ${
          (100 * m.getOps / top.getOps).toFixed(0)
        }%`;
      }).join("; ")
    }`,
  );
  return lines;
}
