import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { rawGet } from "./_raw_http.ts";
import { spawnServer } from "./_server_process.ts";
import { describeRounds, median, type SmallOpsResult, smallOpsRounds, type SmallOpsTarget } from "./_small_ops.ts";

const result = (putOps: number, getOps: number): SmallOpsResult => ({
  putOps,
  getOps,
  putCpuMs: putOps / 10_000,
  getCpuMs: getOps / 10_000,
  putClientCpuMs: 0.1,
  getClientCpuMs: 0.05,
});

Deno.test("median: odd and even counts, unsorted input; none is an error", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), /median of no values/);
});

Deno.test("describeRounds: ratios taken round by round, medians as a share of the ceiling", () => {
  const lines = describeRounds(
    new Map([
      ["gw", [result(2000, 6000), result(3000, 6600), result(2400, 3000)]],
      ["ref", [result(1000, 2000), result(1000, 2000), result(1200, 1500)]],
      ["null", [result(6000, 10_000), result(5000, 9000), result(4000, 8000)]],
    ]),
    "gw",
    "ref",
    "null",
  );
  assert.deepEqual(lines, [
    "gw: PUT/s 2,000, 3,000, 2,400; GET/s 6,000, 6,600, 3,000; median server CPU 0.24 ms per PUT, 0.60 per GET; client 0.10 / 0.05",
    "ref: PUT/s 1,000, 1,000, 1,200; GET/s 2,000, 2,000, 1,500; median server CPU 0.10 ms per PUT, 0.20 per GET; client 0.10 / 0.05",
    "null: PUT/s 6,000, 5,000, 4,000; GET/s 10,000, 9,000, 8,000; median server CPU 0.50 ms per PUT, 0.90 per GET; client 0.10 / 0.05",
    "gw vs ref, round by round: PUT 2.0×, 3.0×, 2.0× (median 2.0×); GET 3.0×, 3.3×, 2.0× (median 3.0×)",
    "share of null (medians): gw PUT 48%, GET 67%; ref PUT 20%, GET 22%",
  ]);
});

Deno.test("smallOpsRounds: warm-up first, then the servers in turn, reversed every other round, each turn after beforeTurn", async () => {
  const arrivals: string[] = [];
  const object = new Uint8Array(4096);
  const servers = ["a", "b"].map((name) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const phase = new URL(req.url).pathname.split("/").slice(2, -1).join("/"); // warmup, small/<round>
      const arrival = `${name} ${req.method} ${phase}`;
      if (arrivals.at(-1) !== arrival) arrivals.push(arrival);
      if (req.method === "PUT") {
        assert.equal((await req.bytes()).byteLength, 4096);
        return new Response(null);
      }
      return new Response(object);
    })
  );
  try {
    const targets: SmallOpsTarget[] = servers.map((s, i) => ({
      name: ["a", "b"][i]!,
      pid: Deno.pid,
      endpoint: `http://127.0.0.1:${s.addr.port}`,
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "secret",
      bucket: "bench",
    }));
    const results = await smallOpsRounds(targets, {
      count: 8,
      concurrency: 4,
      warmup: 4,
      rounds: 3,
      beforeTurn: () => Promise.resolve(void arrivals.push("turn")),
    });
    assert.deepEqual(arrivals, [
      "a PUT warmup",
      "a GET warmup",
      "b PUT warmup",
      "b GET warmup",
      ...[["a", 0], ["b", 0], ["b", 1], ["a", 1], ["a", 2], ["b", 2]].flatMap(([name, round]) => [
        "turn",
        `${name} PUT small/${round}`,
        `${name} GET small/${round}`,
      ]),
    ]);
    for (const name of ["a", "b"]) {
      const rounds = results.get(name)!;
      assert.equal(rounds.length, 3);
      for (const r of rounds) assert.ok(r.putOps > 0 && r.getOps > 0, `${name}: ${JSON.stringify(r)}`);
    }
  } finally {
    for (const s of servers) await s.shutdown();
  }
});

Deno.test("smallOpsRounds: a short GET answer fails the run with the server's name", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method === "PUT") await req.bytes();
    return new Response(req.method === "PUT" ? null : new Uint8Array(100));
  });
  try {
    const target = {
      name: "short",
      pid: Deno.pid,
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "secret",
      bucket: "bench",
    };
    await assert.rejects(
      smallOpsRounds([target], { count: 4, concurrency: 2, warmup: 0, rounds: 1 }),
      /short: GET answered 200 with 100 bytes/,
    );
  } finally {
    await server.shutdown();
  }
});

for (const kind of ["deno-serve", "node-http"]) {
  Deno.test(`the null HTTP server (${kind}): reads a PUT's body, answers GETs with the 4 KiB object and its MD5 ETag or N bytes`, async () => {
    const server = await spawnServer("./_null_http.ts", [kind]);
    try {
      const { port } = server;
      const target = {
        name: "null",
        pid: server.pid,
        endpoint: `http://127.0.0.1:${port}`,
        accessKeyId: "unchecked",
        secretAccessKey: "unchecked",
        bucket: "null",
      };
      const [round] = (await smallOpsRounds([target], { count: 16, concurrency: 4, warmup: 0, rounds: 1 })).get(
        "null",
      )!;
      assert.ok(round!.putOps > 0 && round!.getOps > 0);
      const res = await fetch(`http://127.0.0.1:${port}/null/k`);
      const body = await res.bytes();
      assert.deepEqual(body, new Uint8Array(4096).map((_, i) => i & 0xff));
      assert.equal(res.headers.get("etag"), `"${createHash("md5").update(body).digest("hex")}"`);
      const size = 3 * 1024 * 1024 + 5;
      assert.equal(await rawGet(`http://127.0.0.1:${port}/null/large?bytes=${size}`), size);
    } finally {
      await server.stop();
    }
  });
}
