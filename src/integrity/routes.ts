/**
 * HTTP routes of the integrity service, mounted by the management API at `/api/v1/integrity`:
 *
 * GET /status · GET /records?from&limit · GET /records/:seq/proof?size= · GET /checkpoints ·
 * POST /checkpoints · GET /consistency?from&to · POST /verify · POST /reconcile/:bucket · GET /export (NDJSON)
 *
 * @module
 */
import { Hono } from "hono";
import { createErrorHandler } from "../api/middleware/error_handler.ts";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { exportStream } from "./export.ts";
import type { Integrity } from "./integrity.ts";
import { decodeRecord } from "./record_codec.ts";

function intParam(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined || value === "") {
    if (fallback === undefined) throw new AppError("InvalidArgument", `Parameter "${name}" is required`);
    return fallback;
  }
  if (!/^\d{1,15}$/.test(value)) throw new AppError("InvalidArgument", `Parameter "${name}" must be a whole number`);
  return Number(value);
}

/** A record as the API shows it: parsed, or the raw text when it no longer parses. */
function view(r: { seq: number; data: string; hash: string }) {
  try {
    return { seq: r.seq, hash: r.hash, record: decodeRecord(r.data) };
  } catch {
    return { seq: r.seq, hash: r.hash, malformed: r.data };
  }
}

export function integrityRoutes(integrity: Integrity, deps: { logger: Logger; now(): Date; db?: Db }): Hono {
  const { journal } = integrity;
  const app = new Hono();
  app.onError(createErrorHandler(deps.logger, deps.db));

  app.get("/status", async (c) => c.json(await integrity.status()));

  app.get("/records", async (c) => {
    const from = intParam(c.req.query("from"), "from", 0);
    const limit = Math.min(intParam(c.req.query("limit"), "limit", 100), 1000);
    await integrity.appender.flush();
    return c.json({ size: journal.size(), records: (await journal.records(from, limit)).map(view) });
  });

  app.get("/records/:seq/proof", async (c) => {
    const seq = intParam(c.req.param("seq"), "seq");
    await integrity.appender.flush();
    const latest = await integrity.checkpoints.latest();
    const size = intParam(c.req.query("size"), "size", latest && latest.size > seq ? latest.size : journal.size());
    const proof = await journal.inclusionProof(seq, size);
    const [record] = await journal.records(seq, 1);
    const checkpoint = (await integrity.checkpoints.all()).find((cp) => cp.size === size);
    return c.json({
      seq,
      treeSize: size,
      leafHash: record!.hash,
      rootHash: (await journal.rootAt(size)).toHex(),
      proof: proof.map((h) => h.toHex()),
      data: record!.data,
      ...(checkpoint ? { checkpoint: checkpoint.note } : {}),
    });
  });

  app.get("/checkpoints", async (c) => c.json({ checkpoints: await integrity.checkpoints.all() }));

  app.post("/checkpoints", async (c) => {
    await integrity.appender.flush();
    return c.json(await integrity.checkpoints.checkpoint(), 201);
  });

  app.get("/consistency", async (c) => {
    const latest = await integrity.checkpoints.latest();
    const to = intParam(c.req.query("to"), "to", latest?.size ?? journal.size());
    const from = intParam(c.req.query("from"), "from");
    const proof = await journal.consistencyProof(from, to);
    return c.json({
      from,
      to,
      fromRoot: (await journal.rootAt(from)).toHex(),
      toRoot: (await journal.rootAt(to)).toHex(),
      proof: proof.map((h) => h.toHex()),
    });
  });

  app.post("/verify", async (c) => c.json(await integrity.verify()));

  app.post("/reconcile/:bucket", async (c) => c.json(await integrity.reconcile(c.req.param("bucket"))));

  app.get(
    "/export",
    () => new Response(exportStream(integrity, deps.now), { headers: { "content-type": "application/x-ndjson" } }),
  );

  return app;
}
