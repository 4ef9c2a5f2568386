/**
 * Database access of COW Sync: jobs, runs and their plan items (the checkpoint), generation entries, change feed.
 *
 * @module
 */
import { and, asc, count, eq, gt, inArray, isNotNull, isNull, lte, max, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { syncChanges, syncEntries, syncJobs, syncRunItems, syncRuns } from "../db/schema.ts";
import type { ManifestEntry, PlanItem } from "./planner.ts";

export type JobRow = typeof syncJobs.$inferSelect;
export type RunRow = typeof syncRuns.$inferSelect;
export type ItemRow = typeof syncRunItems.$inferSelect;
export type EntryRow = typeof syncEntries.$inferSelect;
export type ChangeRow = typeof syncChanges.$inferSelect;

/** SQLite caps bound variables per statement; inserts go in chunks. */
const CHUNK = 500;

/** A tiny async mutex. */
function createLock(): () => Promise<() => void> {
  let tail = Promise.resolve();
  return () => {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const acquired = tail.then(() => release);
    tail = tail.then(() => next);
    return acquired;
  };
}

/** Plain SQL for the per-object hot path: building drizzle queries costs more than running them. */
type Statement = SQL;

/** One caller's writes: `statements` first, then the item's final state and its new generation entry. */
interface Writes {
  statements: Statement[];
  item?: { runId: number; idx: number; state: "done" | "skipped" };
  entry?: { jobId: string; key: string; fromGen: number; size: number; etag: string; mirrorEtag: string; at: number };
}

/** A group's writes: item states and new entries merged into one statement per CHUNK rows. */
function merged(group: Writes[]): Statement[] {
  const out = group.flatMap((g) => g.statements);
  const items = group.flatMap((g) => (g.item ? [g.item] : []));
  const byTarget = Map.groupBy(items, (i) => `${i.runId}\u0000${i.state}`);
  for (const same of byTarget.values()) {
    const { runId, state } = same[0]!;
    for (let i = 0; i < same.length; i += CHUNK) {
      const idxs = sql.join(same.slice(i, i + CHUNK).map((x) => sql`${x.idx}`), sql`, `);
      out.push(
        sql`UPDATE sync_run_items SET state = ${state}, error = NULL WHERE run_id = ${runId} AND idx IN (${idxs})`,
      );
    }
  }
  const entries = group.flatMap((g) => (g.entry ? [g.entry] : []));
  for (let i = 0; i < entries.length; i += CHUNK) {
    const rows = entries.slice(i, i + CHUNK).map((e) =>
      sql`(${e.jobId}, ${e.key}, ${e.fromGen}, ${e.size}, ${e.etag}, ${e.mirrorEtag}, ${e.at})`
    );
    out.push(sql`INSERT INTO sync_entries (job_id, key, from_gen, size, etag, mirror_etag, last_modified)
      VALUES ${sql.join(rows, sql`, `)}`);
  }
  return out;
}

/**
 * Group commit: writes queued while a batch is being written go together into the next one, each batch one
 * transaction on one connection, with the per-object item updates and entry inserts merged into a few multi-row
 * statements. Callers resume only once their writes are durable, so concurrent workers share one disk sync
 * instead of paying one each.
 */
function createGroupCommit(db: Db): (writes: Writes) => Promise<void> {
  let queue: (Writes & { done: () => void; fail: (err: unknown) => void })[] = [];
  let writing = false;
  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      try {
        const runs = merged(group).map((q) => db.run(q));
        await db.batch(runs as [typeof runs[number], ...typeof runs]);
        for (const g of group) g.done();
      } catch (err) {
        for (const g of group) g.fail(err);
      }
    }
    writing = false;
  }
  return (writes) =>
    new Promise<void>((done, fail) => {
      queue.push({ ...writes, done, fail });
      if (!writing) {
        writing = true;
        queueMicrotask(drain);
      }
    });
}

export function createSyncRepo(db: Db) {
  const lock = createLock();
  const groupCommit = createGroupCommit(db);
  return {
    // ── jobs ──
    async insertJob(job: typeof syncJobs.$inferInsert): Promise<void> {
      await db.insert(syncJobs).values(job);
    },
    async getJob(id: string): Promise<JobRow | undefined> {
      return (await db.select().from(syncJobs).where(eq(syncJobs.id, id)))[0];
    },
    listJobs(): Promise<JobRow[]> {
      return db.select().from(syncJobs).orderBy(asc(syncJobs.id));
    },
    async updateJob(id: string, patch: Partial<typeof syncJobs.$inferInsert>): Promise<void> {
      await db.update(syncJobs).set(patch).where(eq(syncJobs.id, id));
    },
    /** The job with its runs, plan items and entries, in one transaction (why by name: see db/schema.ts). */
    async deleteJob(id: string): Promise<void> {
      const runs = db.select({ id: syncRuns.id }).from(syncRuns).where(eq(syncRuns.jobId, id));
      await db.batch([
        db.delete(syncRunItems).where(inArray(syncRunItems.runId, runs)),
        db.delete(syncRuns).where(eq(syncRuns.jobId, id)),
        db.delete(syncEntries).where(eq(syncEntries.jobId, id)),
        db.delete(syncJobs).where(eq(syncJobs.id, id)),
      ]);
    },

    // ── runs and plan items ──
    async nextGeneration(jobId: string): Promise<number> {
      const [row] = await db.select({ g: max(syncRuns.generation) }).from(syncRuns).where(eq(syncRuns.jobId, jobId));
      return (row?.g ?? 0) + 1;
    },
    /**
     * Inserts the run and its whole plan atomically (one batch on one connection: a crash never leaves a run
     * without its items). Runs are created one at a time, so the id read before the batch stays free.
     */
    async createRun(run: Omit<typeof syncRuns.$inferInsert, "id">, plan: PlanItem[]): Promise<RunRow> {
      const release = await lock();
      try {
        const [last] = await db.select({ id: max(syncRuns.id) }).from(syncRuns);
        const id = (last?.id ?? 0) + 1;
        const inserts = [];
        for (let i = 0; i < plan.length; i += CHUNK) {
          inserts.push(
            db.insert(syncRunItems).values(
              plan.slice(i, i + CHUNK).map((p, j) => ({ runId: id, idx: i + j, ...p, state: "pending" as const })),
            ),
          );
        }
        const [[row]] = await db.batch([db.insert(syncRuns).values({ ...run, id }).returning(), ...inserts]);
        return row!;
      } finally {
        release();
      }
    },
    async getRun(jobId: string, generation: number): Promise<RunRow | undefined> {
      return (await db.select().from(syncRuns).where(
        and(eq(syncRuns.jobId, jobId), eq(syncRuns.generation, generation)),
      ))[0];
    },
    async unfinishedRun(jobId: string): Promise<RunRow | undefined> {
      return (await db.select().from(syncRuns).where(and(eq(syncRuns.jobId, jobId), eq(syncRuns.status, "running"))))[
        0
      ];
    },
    listRuns(jobId: string): Promise<RunRow[]> {
      return db.select().from(syncRuns).where(eq(syncRuns.jobId, jobId)).orderBy(asc(syncRuns.generation));
    },
    async updateRun(id: number, patch: Partial<typeof syncRuns.$inferInsert>): Promise<void> {
      await db.update(syncRuns).set(patch).where(eq(syncRuns.id, id));
    },
    items(runId: number, states?: ItemRow["state"][]): Promise<ItemRow[]> {
      const where = states
        ? and(eq(syncRunItems.runId, runId), inArray(syncRunItems.state, states))
        : eq(syncRunItems.runId, runId);
      return db.select().from(syncRunItems).where(where).orderBy(asc(syncRunItems.idx));
    },
    /** How many items of the run have each op and state. */
    itemCounts(runId: number): Promise<{ op: ItemRow["op"]; state: ItemRow["state"]; n: number }[]> {
      return db.select({ op: syncRunItems.op, state: syncRunItems.state, n: count() }).from(syncRunItems)
        .where(eq(syncRunItems.runId, runId)).groupBy(syncRunItems.op, syncRunItems.state);
    },
    async setItemState(
      item: { runId: number; idx: number },
      state: ItemRow["state"],
      error: string | null = null,
    ): Promise<void> {
      await groupCommit({
        statements: [
          sql`UPDATE sync_run_items SET state = ${state}, error = ${error}, attempts = attempts + 1
            WHERE run_id = ${item.runId} AND idx = ${item.idx}`,
        ],
      });
    },

    // ── generation entries ──
    async currentManifest(jobId: string): Promise<Map<string, ManifestEntry & { fromGen: number }>> {
      const rows = await db.select().from(syncEntries).where(
        and(eq(syncEntries.jobId, jobId), isNull(syncEntries.toGen)),
      );
      return new Map(rows.map((r) => [r.key, r]));
    },
    /**
     * Records a finished item in one transaction: the previous entry (if any) ends at `generation` and now lives
     * at `versionKey`, the new one (copies only) starts at `generation`, and the plan item is done.
     */
    async commitItem(
      item: { runId: number; idx: number; state: "done" | "skipped" },
      change: {
        jobId: string;
        key: string;
        generation: number;
        previous?: { fromGen: number; versionKey: string | null };
        next?: { size: number; etag: string; mirrorEtag: string; lastModified: Date };
      },
    ): Promise<void> {
      const prev = change.previous;
      const { jobId, key, generation } = change;
      const statements: Statement[] = [];
      if (prev && prev.fromGen === generation) {
        statements.push(
          sql`DELETE FROM sync_entries WHERE job_id = ${jobId} AND key = ${key} AND from_gen = ${prev.fromGen}`,
        );
      } else if (prev) {
        statements.push(sql`UPDATE sync_entries SET to_gen = ${generation}, version_key = ${prev.versionKey}
          WHERE job_id = ${jobId} AND key = ${key} AND from_gen = ${prev.fromGen}`);
      }
      const n = change.next;
      await groupCommit({
        statements,
        item,
        ...(n
          ? {
            entry: {
              jobId,
              key,
              fromGen: generation,
              size: n.size,
              etag: n.etag,
              mirrorEtag: n.mirrorEtag,
              at: n.lastModified.getTime(),
            },
          }
          : {}),
      });
    },
    /** Entries of generation `g`: valid for [fromGen, toGen) ∋ g. */
    generationEntries(jobId: string, g: number, prefix = ""): Promise<EntryRow[]> {
      return db.select().from(syncEntries).where(and(
        eq(syncEntries.jobId, jobId),
        lte(syncEntries.fromGen, g),
        sql`(${syncEntries.toGen} IS NULL OR ${syncEntries.toGen} > ${g})`,
        sql`substr(${syncEntries.key}, 1, ${prefix.length}) = ${prefix}`,
      )).orderBy(asc(syncEntries.key));
    },
    pastEntries(jobId: string): Promise<EntryRow[]> {
      return db.select().from(syncEntries).where(and(eq(syncEntries.jobId, jobId), isNotNull(syncEntries.toGen)));
    },
    async deleteEntry(e: { jobId: string; key: string; fromGen: number }): Promise<void> {
      await db.delete(syncEntries).where(
        and(eq(syncEntries.jobId, e.jobId), eq(syncEntries.key, e.key), eq(syncEntries.fromGen, e.fromGen)),
      );
    },

    // ── change feed ──
    async appendChanges(rows: (typeof syncChanges.$inferInsert)[]): Promise<void> {
      for (let i = 0; i < rows.length; i += CHUNK) await db.insert(syncChanges).values(rows.slice(i, i + CHUNK));
    },
    async headSeq(): Promise<number> {
      const [row] = await db.select({ s: max(syncChanges.seq) }).from(syncChanges);
      return row?.s ?? 0;
    },
    changesSince(bucket: string, afterSeq: number, uptoSeq: number): Promise<ChangeRow[]> {
      return db.select().from(syncChanges).where(and(
        eq(syncChanges.bucket, bucket),
        gt(syncChanges.seq, afterSeq),
        lte(syncChanges.seq, uptoSeq),
      )).orderBy(asc(syncChanges.seq));
    },
    async pruneChanges(bucket: string, uptoSeq: number): Promise<void> {
      await db.delete(syncChanges).where(and(eq(syncChanges.bucket, bucket), lte(syncChanges.seq, uptoSeq)));
    },
  };
}

export type SyncRepo = ReturnType<typeof createSyncRepo>;
