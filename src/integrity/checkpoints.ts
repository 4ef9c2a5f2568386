/**
 * Signed checkpoints: made every N records, every T seconds and on demand, kept in the database and anchored
 * (leaf hashes first, then the note) outside it. Anchoring that fails is retried at the next checkpoint.
 *
 * @module
 */
import { asc, desc, eq, isNotNull, isNull } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { integrityCheckpoints } from "../db/schema.ts";
import type { Anchor } from "./anchor.ts";
import type { JournalStore } from "./journal.ts";
import { signCheckpoint } from "./note.ts";
import type { Signer } from "./signer.ts";

export interface CheckpointInfo {
  size: number;
  rootHash: string;
  time: string;
  note: string;
  anchoredAt?: string;
}

export interface Checkpointer {
  /** Make a checkpoint of everything committed (or return the latest if nothing was added) and anchor it. */
  checkpoint(): Promise<CheckpointInfo>;
  latest(): Promise<CheckpointInfo | undefined>;
  all(): Promise<CheckpointInfo[]>;
  /** Anchor what is not yet anchored. */
  anchorPending(): Promise<void>;
  anchorFailures(): number;
  made(): number;
}

export interface CheckpointerDeps {
  db: Db;
  journal: JournalStore;
  anchor: Anchor;
  signer: Signer;
  origin: string;
  now(): Date;
  onAnchorError(err: unknown): void;
}

type Row = typeof integrityCheckpoints.$inferSelect;

function info(r: Row): CheckpointInfo {
  return {
    size: r.size,
    rootHash: r.rootHash,
    time: r.createdAt.toISOString(),
    note: r.note,
    ...(r.anchoredAt ? { anchoredAt: r.anchoredAt.toISOString() } : {}),
  };
}

/** The newest checkpoint stored, if any. */
export async function newestCheckpoint(db: Db): Promise<Row | undefined> {
  const [row] = await db.select().from(integrityCheckpoints).orderBy(desc(integrityCheckpoints.size)).limit(1);
  return row;
}

export function createCheckpointer(deps: CheckpointerDeps): Checkpointer {
  const { db } = deps;
  let chain: Promise<unknown> = Promise.resolve();
  let failures = 0;
  let made = 0;

  /** One checkpoint or anchoring at a time, in call order. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  }

  async function latest(): Promise<CheckpointInfo | undefined> {
    const row = await newestCheckpoint(db);
    return row ? info(row) : undefined;
  }

  async function anchorPending(): Promise<void> {
    const pending = await db.select().from(integrityCheckpoints).where(isNull(integrityCheckpoints.anchoredAt))
      .orderBy(asc(integrityCheckpoints.size));
    if (pending.length === 0) return;
    const [done] = await db.select({ size: integrityCheckpoints.size }).from(integrityCheckpoints)
      .where(isNotNull(integrityCheckpoints.anchoredAt))
      .orderBy(desc(integrityCheckpoints.size)).limit(1);
    let leavesFrom = done?.size ?? 0;
    try {
      await deps.anchor.publishKey(deps.signer.verifierKey);
      for (const cp of pending) {
        if (cp.size > leavesFrom) {
          await deps.anchor.putLeaves(leavesFrom, await deps.journal.leafHashes(leavesFrom, cp.size));
          leavesFrom = cp.size;
        }
        await deps.anchor.putCheckpoint(cp.size, cp.note);
        await db.update(integrityCheckpoints).set({ anchoredAt: deps.now() }).where(
          eq(integrityCheckpoints.size, cp.size),
        );
      }
    } catch (err) {
      failures++;
      deps.onAnchorError(err);
    }
  }

  return {
    latest,
    checkpoint: () =>
      serial(async () => {
        const size = deps.journal.size();
        const rootHash = deps.journal.root();
        const last = await latest();
        if (last && last.size === size) {
          await anchorPending();
          return (await latest())!;
        }
        const time = deps.now();
        const note = await signCheckpoint({ origin: deps.origin, size, rootHash, time }, deps.signer);
        await db.insert(integrityCheckpoints).values({ size, rootHash: rootHash.toHex(), note, createdAt: time });
        made++;
        await anchorPending();
        const [row] = await db.select().from(integrityCheckpoints).where(eq(integrityCheckpoints.size, size));
        return info(row!);
      }),
    async all() {
      return (await db.select().from(integrityCheckpoints).orderBy(asc(integrityCheckpoints.size))).map(info);
    },
    anchorPending: () => serial(anchorPending),
    anchorFailures: () => failures,
    made: () => made,
  };
}
