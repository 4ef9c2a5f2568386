import assert from "node:assert/strict";
import { createDb, type DbHandle } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { createAppender } from "./appender.ts";
import { type JournalStore, openJournalStore, type StoredRecord } from "./journal.ts";
import type { RecordBody } from "./record_codec.ts";

async function withJournal(fn: (journal: JournalStore, h: DbHandle) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "integrity-appender-" });
  const h = createDb(`file:${dir}/j.db`);
  try {
    await migrateDb(h);
    await fn(await openJournalStore(h.db), h);
  } finally {
    h.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const body = (i: number): RecordBody => ({
  time: "2026-01-01T00:00:00.000Z",
  actor: "AKIA",
  op: "PutObject",
  key: `k${i}`,
});
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

Deno.test("queued records wait for the group-commit window; flush writes them at once, in order", async () => {
  await withJournal(async (journal) => {
    const appender = createAppender(journal, { commitDelayMs: 60_000 });
    for (let i = 0; i < 3; i++) appender.enqueue(body(i));
    await tick();
    assert.deepEqual([appender.pending(), journal.size()], [3, 0], "nothing written inside the window");
    await appender.flush();
    assert.deepEqual([appender.pending(), journal.size()], [0, 3]);
    const keys = (await journal.records(0, 10)).map((r) => JSON.parse(r.data).key);
    assert.deepEqual(keys, ["k0", "k1", "k2"]);
  });
});

Deno.test("a full batch is written without waiting for the window, also while the window's timer runs", async () => {
  await withJournal(async (journal) => {
    const batches: StoredRecord[][] = [];
    let wrote: () => void = () => {};
    const appender = createAppender(journal, {
      commitDelayMs: 60_000,
      maxBatch: 4,
      committed: (records) => {
        batches.push(records);
        wrote();
      },
    });
    const written = new Promise<void>((resolve) => wrote = resolve);
    appender.enqueue(body(0)); // starts the window
    for (let i = 1; i < 4; i++) appender.enqueue(body(i)); // the fourth fills the batch
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((_, reject) => timer = setTimeout(() => reject(new Error("waited for the window")), 5000));
    await Promise.race([written, late]).finally(() => clearTimeout(timer));
    assert.deepEqual(batches.map((b) => b.map((r) => r.seq)), [[0, 1, 2, 3]]);
    await tick();
    appender.enqueue(body(4));
    await tick();
    assert.equal(appender.pending(), 1, "the next record waits for a new window");
    await appender.flush();
    assert.deepEqual(batches.map((b) => b.length), [4, 1]);
    assert.equal(journal.size(), 5);
  });
});

Deno.test("a failed write is tried again on its own, without new records or a flush", async () => {
  await withJournal(async (journal, h) => {
    let failures = 0;
    let wrote: () => void = () => {};
    const written = new Promise<void>((resolve) => wrote = resolve);
    const appender = createAppender(journal, {
      commitDelayMs: 0,
      retryMs: 50,
      failed: () => failures++,
      committed: () => wrote(),
    });
    // A row in the way of seq 0 makes every write fail until it is gone.
    await h.client.execute("INSERT INTO integrity_records (seq, data, hash) VALUES (0, 'squatter', 'x')");
    appender.enqueue(body(0));
    while (failures < 2) await tick();
    assert.equal(appender.pending(), 1, "kept while the writes fail");
    await h.client.execute("DELETE FROM integrity_records WHERE seq = 0");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((_, reject) => timer = setTimeout(() => reject(new Error("not tried again")), 5000));
    await Promise.race([written, late]).finally(() => clearTimeout(timer));
    assert.deepEqual([appender.pending(), journal.size()], [0, 1]);
    assert.equal(JSON.parse((await journal.records(0, 1))[0]!.data).key, "k0");

    // Once stopped, a failed write is left as it is.
    await h.client.execute("INSERT INTO integrity_records (seq, data, hash) VALUES (1, 'squatter', 'x')");
    appender.enqueue(body(1));
    while (failures < 3) await tick();
    appender.stop();
    const before = failures;
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual([failures, appender.pending()], [before, 1]);
  });
});
