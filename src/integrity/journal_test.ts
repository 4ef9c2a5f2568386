import assert from "node:assert/strict";
import type { DbHandle } from "../db/client.ts";
import { DATABASE_KINDS, openTestDatabase } from "../db/_testing/databases.ts";
import { openJournalStore } from "./journal.ts";
import { leafHash, verifyConsistency, verifyInclusion } from "./merkle.ts";
import type { RecordBody } from "./record_codec.ts";

const enc = new TextEncoder();

/** An open connection, and a way to open another one to the same database. */
interface TestDb {
  h: DbHandle;
  connect(): DbHandle;
}

/** Registers `fn` as one test per kind of database; sqld's SQL parser is not SQLite's own. */
function journalTest(name: string, fn: (db: TestDb) => Promise<void>) {
  for (const kind of DATABASE_KINDS) {
    Deno.test(`${kind} database: ${name}`, async () => {
      const db = await openTestDatabase(kind, { migrate: true });
      const h = db.connect();
      try {
        await fn({ h, connect: db.connect });
      } finally {
        h.close();
        await db.close();
      }
    });
  }
}

const body = (i: number): RecordBody => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  actor: "AKIA",
  op: "PutObject",
  bucket: "b",
  key: `k${i}`,
  status: 200,
});

journalTest(
  "appends in uneven batches, reopens, and serves proofs that verify for every record, across 64-record blocks",
  async ({ h, connect }) => {
    let store = await openJournalStore(h.db);
    const roots: Uint8Array[] = [];
    let n = 0;
    for (const batch of [1, 2, 5, 13, 1, 40, 7, 150, 97]) {
      await store.append(Array.from({ length: batch }, (_, i) => body(n + i)));
      n += batch;
      roots[n] = store.root();
      if (batch === 13) {
        const other = connect();
        store = await openJournalStore(other.db);
        assert.equal(store.root().toHex(), roots[n]!.toHex(), "reopened root");
        other.close();
        store = await openJournalStore(h.db);
      }
    }
    assert.equal(store.size(), 316);
    const all = await store.records(0, 400);
    assert.deepEqual(all.map((r) => r.seq), Array.from({ length: 316 }, (_, i) => i));
    const levels = await h.client.execute("SELECT DISTINCT level FROM integrity_nodes ORDER BY level");
    assert.deepEqual(levels.rows.map((r) => Number(r.level)), [6, 7, 8], "only subtrees of 64+ records are stored");
    for (const size of [1, 3, 8, 21, 64, 69, 128, 219, 316]) {
      const root = await store.rootAt(size);
      if (roots[size]) assert.equal(root.toHex(), roots[size]!.toHex());
      for (const r of all.slice(0, size)) {
        const proof = await store.inclusionProof(r.seq, size);
        assert.ok(verifyInclusion(r.seq, size, leafHash(enc.encode(r.data)), proof, root), `${r.seq} in ${size}`);
      }
      for (const first of [1, 2, 63, 64, 65, 100, size - 1, size]) {
        if (first < 1 || first > size) continue;
        const proof = await store.consistencyProof(first, size);
        assert.ok(verifyConsistency(first, size, await store.rootAt(first), root, proof), `${first}→${size}`);
      }
    }
    const leaves = await store.leafHashes(3, 6);
    assert.equal(leaves.toHex(), all.slice(3, 6).map((r) => r.hash).join(""));
    await assert.rejects(store.inclusionProof(316, 316), /not in a tree/);
    await assert.rejects(store.rootAt(317), /outside the journal/);
  },
);

journalTest("a failed append keeps nothing and the next one continues the chain", async ({ h }) => {
  const store = await openJournalStore(h.db);
  await store.append([body(0), body(1)]);
  const root = store.root().toHex();
  await h.client.execute("INSERT INTO integrity_records (seq, data, hash) VALUES (3, 'squatter', 'x')");
  await assert.rejects(store.append([body(2), body(3)]), /Cannot write journal records/);
  assert.equal(store.size(), 2);
  assert.equal(store.root().toHex(), root);
  assert.equal((await store.records(0, 10)).length, 3, "the batch's seq 2 was rolled back with it");
  await h.client.execute("DELETE FROM integrity_records WHERE seq = 3");
  const written = await store.append([body(2)]);
  assert.equal(written[0]!.seq, 2);
  assert.equal(JSON.parse(written[0]!.data).prev, (await store.records(1, 1))[0]!.hash);
});

journalTest("scan returns rows as stored, also when a tampered record holds a raw newline", async ({ h }) => {
  const store = await openJournalStore(h.db);
  await store.append([body(0), body(1), body(2)]);
  await h.client.execute("UPDATE integrity_records SET data = 'line one\nline two' WHERE seq = 1");
  await h.client.execute("DELETE FROM integrity_records WHERE seq = 0");
  const page = await store.scan(-1, 10);
  assert.deepEqual(page.seqs, [1, 2]);
  assert.equal(page.data[0], "line one\nline two");
  assert.equal(page.lastSeq, 2);
  assert.deepEqual((await store.scan(2, 10)).data, []);
});
