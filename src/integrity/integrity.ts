/**
 * The integrity service's core: journals gateway events, makes signed checkpoints, serves proofs, and runs
 * verification and reconciliation on demand and on schedules.
 *
 * @module
 */
import { getSetting, SETTING } from "../db/repos/settings.ts";
import { AppError, rootMessage } from "../errors.ts";
import type { ServiceContext } from "../service.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { type Anchor, createAnchor } from "./anchor.ts";
import { type Appender, createAppender } from "./appender.ts";
import { type Checkpointer, type CheckpointInfo, createCheckpointer, newestCheckpoint } from "./checkpoints.ts";
import { type JournalStore, openJournalStore } from "./journal.ts";
import { bodiesFromEvent, shouldJournal } from "./record.ts";
import { reconcileBucket, type ReconcileReport } from "./reconcile.ts";
import { loadOrCreateSigner, type Signer } from "./signer.ts";
import { verifyJournal, type VerifyReport } from "./verifier.ts";

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface IntegrityOptions {
  /** Checkpoint origin and signing key name (default `s3plugin.integrity/<first 8 hex of a random id>`). */
  origin?: string;
  /** Journal successful reads (GET, HEAD, listings) too; failures and denials are always journaled. */
  journalReads?: boolean;
  /** Make a checkpoint after this many new records (default 10,000). */
  checkpointEvery?: number;
  /** …and at least this often while records arrive (default 60 s). */
  checkpointIntervalMs?: number;
  /** Scheduled verification (default 1 h; 0 = off). */
  verifyIntervalMs?: number;
  /** Scheduled reconciliation (default 6 h; 0 = off). */
  reconcileIntervalMs?: number;
  /** Buckets reconciled on schedule (default: every gateway bucket). */
  reconcileBuckets?: string[];
  anchor?: {
    /** A store to anchor in; default: the backend `backend` (default: the appliance's default backend). */
    store?: ObjectStore;
    backend?: string;
    /** Default `s3plugin-integrity`. */
    bucket?: string;
    prefix?: string;
    /** Object Lock retention (default 3650 days, GOVERNANCE). */
    retentionDays?: number;
    lockMode?: "GOVERNANCE" | "COMPLIANCE";
  };
  timers?: Timers;
  /** Records per transaction at most (default 5,000). */
  maxBatch?: number;
  /** Group-commit window: the longest a record waits in memory before its transaction (default 1000 ms). */
  commitDelayMs?: number;
}

export interface IntegrityStatus {
  origin: string;
  verifierKey: string;
  anchor: string;
  size: number;
  rootHash: string;
  pending: number;
  latestCheckpoint?: Omit<CheckpointInfo, "note">;
  lastVerify?: Omit<VerifyReport, "problems"> & { problems: number };
  lastReconcile: Record<string, { time: string; anomalies: number }>;
  anomaliesTotal: number;
}

export interface Integrity {
  journal: JournalStore;
  appender: Appender;
  checkpoints: Checkpointer;
  anchor: Anchor;
  signer: Signer;
  origin: string;
  status(): Promise<IntegrityStatus>;
  verify(): Promise<VerifyReport>;
  reconcile(bucket: string): Promise<ReconcileReport>;
  metrics(): string;
  stop(): Promise<void>;
}

const globalTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as number),
};

async function defaultOrigin(dir: string): Promise<string> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/signing-key.json`)).name;
  } catch {
    return `s3plugin.integrity/${crypto.getRandomValues(new Uint8Array(4)).toHex()}`;
  }
}

export async function createIntegrity(ctx: ServiceContext, options: IntegrityOptions = {}): Promise<Integrity> {
  const log = ctx.logger.child({ service: "integrity" });
  const dir = `${ctx.dataDir}/integrity`;
  const signed = (await newestCheckpoint(ctx.db))?.note;
  const signer = await loadOrCreateSigner(dir, options.origin ?? await defaultOrigin(dir), signed);
  const origin = signer.name;
  const journal = await openJournalStore(ctx.db);
  const a = options.anchor ?? {};
  const backendId = a.backend ?? await getSetting(ctx.db, SETTING.defaultBackend) ?? ctx.backends.ids()[0];
  if (!a.store && backendId === undefined) throw new AppError("Unavailable", "No backend to anchor checkpoints on");
  const anchor = createAnchor({
    store: a.store ?? ctx.backends.get(backendId!),
    bucket: a.bucket ?? "s3plugin-integrity",
    prefix: a.prefix ?? "",
    retentionDays: a.retentionDays ?? 3650,
    lockMode: a.lockMode ?? "GOVERNANCE",
    now: () => ctx.clock.now(),
  });
  const checkpointEvery = options.checkpointEvery ?? 10_000;
  const timers = options.timers ?? globalTimers;
  const tasks = new Set<Promise<unknown>>();
  let lastVerify: VerifyReport | undefined;
  const lastReconcile: Record<string, { time: string; anomalies: number }> = {};
  let anomaliesTotal = 0;
  let writeFailures = 0;

  const checkpoints = createCheckpointer({
    db: ctx.db,
    journal,
    anchor,
    signer,
    origin,
    now: () => ctx.clock.now(),
    onAnchorError: (err) => log.error("cannot anchor checkpoints", { anchor: anchor.location, error: String(err) }),
  });

  // From the latest checkpoint, so the "every N records" rule survives restarts.
  let lastCheckpointSize = (await checkpoints.latest())?.size ?? 0;

  function track<T>(what: string, p: Promise<T>): void {
    const t = p.catch((err) => log.error(`${what} failed`, { error: String(err) })).finally(() => tasks.delete(t));
    tasks.add(t);
  }

  function checkpointNow(): Promise<CheckpointInfo> {
    lastCheckpointSize = journal.size();
    return checkpoints.checkpoint();
  }

  const appender = createAppender(journal, {
    maxBatch: options.maxBatch,
    commitDelayMs: options.commitDelayMs,
    committed: () => {
      if (journal.size() - lastCheckpointSize >= checkpointEvery) track("checkpoint", checkpointNow());
    },
    failed: (err) => {
      writeFailures++;
      log.error("cannot write journal records; they stay queued", { error: rootMessage(err) });
    },
  });

  const unsubscribe = ctx.events.subscribe((e) => {
    if (!shouldJournal(e, options.journalReads ?? false)) return;
    for (const body of bodiesFromEvent(e)) appender.enqueue(body);
  });

  async function verify(): Promise<VerifyReport> {
    await appender.flush();
    const report = await verifyJournal({
      journal,
      anchor,
      verifierKey: signer.verifierKey,
      dbCheckpoints: async () => (await checkpoints.all()).map((c) => ({ size: c.size, note: c.note })),
      now: () => ctx.clock.now(),
    });
    lastVerify = report;
    if (!report.ok) log.warn("integrity verification failed", { firstBadSeq: report.firstBadSeq });
    return report;
  }

  async function reconcile(bucket: string): Promise<ReconcileReport> {
    const report = await reconcileBucket({
      journal,
      buckets: ctx.buckets,
      flush: () => appender.flush(),
      record: async (bodies) => {
        for (const b of bodies) appender.enqueue(b);
        await appender.flush();
      },
      now: () => ctx.clock.now(),
    }, bucket);
    anomaliesTotal += report.anomalies.length;
    lastReconcile[bucket] = { time: report.time, anomalies: report.anomalies.length };
    if (report.anomalies.length > 0) {
      log.warn("objects changed outside the gateway", { bucket, count: report.anomalies.length });
    }
    return report;
  }

  async function reconcileAll(): Promise<void> {
    const names = options.reconcileBuckets ?? (await ctx.buckets.listBuckets()).map((b) => b.name);
    for (const name of names) await reconcile(name);
  }

  const intervals: unknown[] = [];
  const every = (ms: number | undefined, fallback: number, what: string, fn: () => Promise<unknown>) => {
    const period = ms ?? fallback;
    if (period > 0) intervals.push(timers.setInterval(() => track(what, fn()), period));
  };
  every(options.checkpointIntervalMs, 60_000, "checkpoint", async () => {
    await appender.flush();
    if (journal.size() > lastCheckpointSize) await checkpointNow();
    else await checkpoints.anchorPending();
  });
  every(options.verifyIntervalMs, 3_600_000, "verify", verify);
  every(options.reconcileIntervalMs, 6 * 3_600_000, "reconcile", reconcileAll);
  track("anchor key", anchor.publishKey(signer.verifierKey));

  return {
    journal,
    appender,
    checkpoints,
    anchor,
    signer,
    origin,
    verify,
    reconcile,

    async status() {
      const cp = await checkpoints.latest();
      const { problems, ...summary } = lastVerify ?? { problems: undefined };
      return {
        origin,
        verifierKey: signer.verifierKey,
        anchor: anchor.location,
        size: journal.size(),
        rootHash: journal.root().toHex(),
        pending: appender.pending(),
        ...(cp ? { latestCheckpoint: { ...cp, note: undefined } } : {}),
        ...(lastVerify ? { lastVerify: { ...summary as VerifyReport, problems: problems!.length } } : {}),
        lastReconcile,
        anomaliesTotal,
      };
    },

    metrics() {
      const lines: string[] = [];
      const metric = (name: string, type: string, help: string, value: number) =>
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
      metric("integrity_records_total", "counter", "Records committed to the integrity journal.", journal.size());
      metric("integrity_queue_depth", "gauge", "Records waiting to be written.", appender.pending());
      metric(
        "integrity_write_failures_total",
        "counter",
        "Failed journal writes (records stay queued).",
        writeFailures,
      );
      metric("integrity_checkpoints_total", "counter", "Checkpoints made by this process.", checkpoints.made());
      metric(
        "integrity_anchor_failures_total",
        "counter",
        "Failed attempts to anchor checkpoints.",
        checkpoints.anchorFailures(),
      );
      metric(
        "integrity_anomalies_total",
        "counter",
        "Out-of-band object changes found by reconciliation.",
        anomaliesTotal,
      );
      if (lastVerify) {
        metric("integrity_last_verify_ok", "gauge", "1 when the last verification passed.", lastVerify.ok ? 1 : 0);
        metric(
          "integrity_last_verify_timestamp_seconds",
          "gauge",
          "When the last verification ran.",
          Math.floor(Date.parse(lastVerify.time) / 1000),
        );
        metric(
          "integrity_last_verify_problems",
          "gauge",
          "Problems the last verification found.",
          lastVerify.problemCount,
        );
      }
      return lines.join("\n") + "\n";
    },

    async stop() {
      unsubscribe();
      for (const id of intervals) timers.clearInterval(id);
      await Promise.allSettled([...tasks]);
      try {
        await appender.flush();
        if (journal.size() > lastCheckpointSize) await checkpointNow();
      } catch (err) {
        log.error("cannot write the final records or checkpoint", { error: rootMessage(err) });
      } finally {
        appender.stop();
      }
      await Promise.allSettled([...tasks]);
    },
  };
}
