import assert from "node:assert/strict";
import { bytes, call, createTestContext, putEvent, type TestContext } from "./_testing.ts";
import { openJournalStore } from "./journal.ts";
import { leafHash } from "./merkle.ts";
import { createIntegrityService } from "./mod.ts";
import { signCheckpoint } from "./note.ts";
import { encodeRecord, type JournalRecord } from "./record_codec.ts";
import { loadOrCreateSigner } from "./signer.ts";
import type { VerifyReport } from "./verifier.ts";
import type { RunningService } from "../service.ts";

const N = 20;
const enc = new TextEncoder();

/** A service with N PutObject records and anchored checkpoints at 8, 16 and N. */
async function journal(): Promise<{ t: TestContext; service: RunningService }> {
  const t = await createTestContext();
  const service = await createIntegrityService(t.ctx, {
    anchor: { backend: "anchor" },
    checkpointEvery: 1000,
    timers: t.timers,
  });
  await t.data.createBucket("data");
  for (let i = 0; i < N; i++) {
    const info = await t.data.putObject("data", `k/${i}`, bytes(`object ${i}`));
    t.ctx.events.publish(putEvent(t.clock, "data", `k/${i}`, info.etag, info.size));
    t.clock.advance(1000);
    if (i === 7 || i === 15) await call(service, "POST", "/checkpoints");
  }
  await call(service, "POST", "/checkpoints");
  return { t, service };
}

async function tampered(attack: (t: TestContext) => Promise<void>): Promise<VerifyReport> {
  const { t, service } = await journal();
  try {
    const before = await call<VerifyReport>(service, "POST", "/verify");
    assert.equal(before.ok, true, JSON.stringify(before.problems));
    assert.equal(before.checkpoints.anchored, 3);
    assert.equal(before.anchoredLeaves, N);
    await attack(t);
    return await call<VerifyReport>(service, "POST", "/verify");
  } finally {
    await service.stop();
    await t.cleanup();
  }
}

async function row(t: TestContext, seq: number): Promise<{ data: string; hash: string }> {
  const rs = await t.handle.client.execute({
    sql: "SELECT data, hash FROM integrity_records WHERE seq = ?",
    args: [seq],
  });
  return { data: String(rs.rows[0]!.data), hash: String(rs.rows[0]!.hash) };
}

async function setRow(t: TestContext, seq: number, data: string, hash?: string): Promise<void> {
  await t.handle.client.execute({
    sql: "UPDATE integrity_records SET data = ?, hash = ? WHERE seq = ?",
    args: [data, hash ?? leafHash(enc.encode(data)).toHex(), seq],
  });
}

Deno.test("verify passes on an untouched journal and names nothing", async () => {
  const report = await tampered(async () => {});
  assert.equal(report.ok, true);
  assert.equal(report.size, N + 1 - 1);
  assert.equal(report.firstBadSeq, undefined);
  assert.equal(report.provenSize, N);
});

Deno.test("a record field changed in the database is named (stored hash left alone)", async () => {
  const report = await tampered(async (t) => {
    const r = await row(t, 5);
    await t.handle.client.execute({
      sql: "UPDATE integrity_records SET data = ? WHERE seq = 5",
      args: [r.data.replace('"key":"k/5"', '"key":"k/hidden"')],
    });
  });
  assert.equal(report.ok, false);
  assert.equal(report.firstBadSeq, 5);
  assert.ok(report.problems.some((p) => p.kind === "stored-hash" && p.seq === 5));
});

Deno.test("a record field changed with its stored hash recomputed is named by the chain", async () => {
  const report = await tampered(async (t) => {
    const r = await row(t, 5);
    await setRow(t, 5, r.data.replace('"actor":"AKIATEST"', '"actor":"someone-else"'));
  });
  assert.equal(report.firstBadSeq, 5);
  assert.ok(report.problems.some((p) => p.kind === "link" && p.seq === 5));
  assert.ok(report.problems.some((p) => p.kind === "anchored-leaf" && p.seq === 5));
});

Deno.test("a deleted middle record is named", async () => {
  const report = await tampered(async (t) => {
    await t.handle.client.execute("DELETE FROM integrity_records WHERE seq = 7");
  });
  assert.equal(report.firstBadSeq, 7);
  assert.ok(report.problems.some((p) => p.kind === "sequence" && p.seq === 7));
});

Deno.test("a deleted tail is detected against the anchored checkpoints even when db checkpoints go too", async () => {
  const report = await tampered(async (t) => {
    await t.handle.client.execute("DELETE FROM integrity_records WHERE seq >= 17");
    await t.handle.client.execute("DELETE FROM integrity_checkpoints WHERE size > 16");
  });
  assert.equal(report.ok, false);
  assert.equal(report.firstBadSeq, 17);
  assert.ok(report.problems.some((p) => p.kind === "truncated" && p.seq === 17 && /anchored/.test(p.message)));
});

Deno.test("two swapped records are named", async () => {
  const report = await tampered(async (t) => {
    const a = await row(t, 9), b = await row(t, 10);
    await setRow(t, 9, b.data, b.hash);
    await setRow(t, 10, a.data, a.hash);
  });
  assert.equal(report.firstBadSeq, 9);
});

Deno.test("an inserted record, well-formed and linked to its predecessor, is named", async () => {
  const report = await tampered(async (t) => {
    const c = t.handle.client;
    await c.execute("UPDATE integrity_records SET seq = seq + 1000000 WHERE seq >= 12");
    await c.execute("UPDATE integrity_records SET seq = seq - 1000000 + 1 WHERE seq >= 1000000");
    const forged: JournalRecord = {
      v: 1,
      seq: 12,
      prev: (await row(t, 11)).hash,
      time: "2026-03-01T10:00:11.500Z",
      actor: "AKIATEST",
      op: "DeleteObject",
      bucket: "data",
      key: "k/3",
      status: 204,
    };
    const data = encodeRecord(forged);
    await c.execute({
      sql: "INSERT INTO integrity_records (seq, data, hash) VALUES (12, ?, ?)",
      args: [data, leafHash(enc.encode(data)).toHex()],
    });
  });
  assert.equal(report.firstBadSeq, 12);
  assert.ok(report.problems.some((p) => p.kind === "sequence" && p.seq === 12));
});

Deno.test("a database replaced by a self-consistent forgery is caught by the anchored checkpoints", async () => {
  const report = await tampered(async (t) => {
    // The attacker rebuilds the whole journal with record 13 changed, re-hashes everything, and even re-signs
    // the database checkpoints with the stolen key. Only the anchors (outside the database) still disagree.
    const rs = await t.handle.client.execute("SELECT data FROM integrity_records ORDER BY seq");
    const bodies = rs.rows.map((r) => {
      const { v: _v, seq, prev: _p, ...body } = JSON.parse(String(r.data)) as JournalRecord;
      return seq === 13 ? { ...body, key: "k/innocent" } : body;
    });
    const forgedDir = await Deno.makeTempDir({ dir: t.dir });
    const { createDb } = await import("../db/client.ts");
    const { migrateDb } = await import("../db/migrate.ts");
    const forged = createDb(`file:${forgedDir}/forged.db`);
    await migrateDb(forged);
    const store = await openJournalStore(forged.db);
    await store.append(bodies);
    const signer = await loadOrCreateSigner(`${t.dir}/integrity`, "ignored");
    for (const size of [8, 16, 20]) {
      const note = await signCheckpoint(
        { origin: signer.name, size, rootHash: await store.rootAt(size), time: t.clock.now() },
        signer,
      );
      await forged.client.execute({
        sql:
          "INSERT INTO integrity_checkpoints (size, root_hash, note, created_at, anchored_at) VALUES (?, ?, ?, ?, ?)",
        args: [size, (await store.rootAt(size)).toHex(), note, t.clock.now().getTime(), t.clock.now().getTime()],
      });
    }
    // Swap the forged content in through SQL on the live database (same effect as replacing the file).
    await t.handle.client.execute("DELETE FROM integrity_records");
    await t.handle.client.execute("DELETE FROM integrity_nodes");
    await t.handle.client.execute("DELETE FROM integrity_checkpoints");
    for (const table of ["integrity_records", "integrity_nodes", "integrity_checkpoints"]) {
      const all = await forged.client.execute(`SELECT * FROM ${table}`);
      for (const r of all.rows) {
        const cols = all.columns;
        await t.handle.client.execute({
          sql: `INSERT INTO ${table} (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`,
          args: cols.map((col) => r[col] as string | number | null),
        });
      }
    }
    forged.close();
  });
  assert.equal(report.ok, false);
  assert.equal(report.firstBadSeq, 13);
  assert.ok(report.problems.some((p) => p.kind === "anchored-leaf" && p.seq === 13));
  assert.ok(report.problems.some((p) => p.kind === "checkpoint" && /anchored/.test(p.message)));
  assert.equal(report.problems.filter((p) => p.kind === "link" || p.kind === "stored-hash").length, 0);
});
