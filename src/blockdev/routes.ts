/**
 * Management routes of the block device, mounted by the API at `/api/v1/blockdev`. CHAP secrets are write-only:
 * no response ever contains one.
 *
 * @module
 */
import { Hono } from "hono";
import { createErrorHandler } from "../api/middleware/error_handler.ts";
import type { Db } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { SessionInfo } from "../iscsi/types.ts";
import type { Logger } from "../log.ts";
import type { VolumeManager } from "./manager.ts";

type Body = Record<string, unknown>;

async function body(req: Request): Promise<Body> {
  const text = await req.text();
  if (text.trim() === "") return {};
  const value = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AppError("InvalidArgument", "Request body must be a JSON object");
  }
  return value as Body;
}

function str(b: Body, field: string): string;
function str(b: Body, field: string, optional: true): string | undefined;
function str(b: Body, field: string, optional = false): string | undefined {
  const v = b[field];
  if (v === undefined && optional) return undefined;
  if (typeof v !== "string" || v === "") throw new AppError("InvalidArgument", `"${field}" must be a non-empty string`);
  return v;
}

function int(b: Body, field: string): number;
function int(b: Body, field: string, optional: true): number | undefined;
function int(b: Body, field: string, optional = false): number | undefined {
  const v = b[field];
  if (v === undefined && optional) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new AppError("InvalidArgument", `"${field}" must be a non-negative integer`);
  }
  return v;
}

export function createRoutes(
  deps: { manager: VolumeManager; sessions(): SessionInfo[]; logger: Logger; db?: Db },
): Hono {
  const { manager } = deps;
  const app = new Hono();
  app.onError(createErrorHandler(deps.logger, deps.db));

  app.get("/volumes", async (c) => c.json(await manager.listVolumes()));
  app.post("/volumes", async (c) => {
    const b = await body(c.req.raw);
    const input = {
      name: str(b, "name"),
      sizeBytes: int(b, "sizeBytes"),
      ...(b.backend !== undefined ? { backend: str(b, "backend") } : {}),
      ...(b.bucket !== undefined ? { bucket: str(b, "bucket") } : {}),
      ...(b.chunkSize !== undefined ? { chunkSize: int(b, "chunkSize") } : {}),
      ...(b.blockSize !== undefined ? { blockSize: int(b, "blockSize") } : {}),
    };
    return c.json(await manager.createVolume(input), 201);
  });
  app.get("/volumes/:name", async (c) => c.json(await manager.getVolume(c.req.param("name"))));
  app.patch("/volumes/:name", async (c) => {
    const b = await body(c.req.raw);
    return c.json(await manager.resizeVolume(c.req.param("name"), int(b, "sizeBytes")));
  });
  app.delete("/volumes/:name", async (c) => c.json(await manager.deleteVolume(c.req.param("name"))));

  app.get("/volumes/:name/snapshots", async (c) => c.json(await manager.listSnapshots(c.req.param("name"))));
  app.post("/volumes/:name/snapshots", async (c) => {
    const b = await body(c.req.raw);
    return c.json(await manager.createSnapshot(c.req.param("name"), str(b, "name")), 201);
  });
  app.delete(
    "/volumes/:name/snapshots/:snapshot",
    async (c) => c.json(await manager.deleteSnapshot(c.req.param("name"), c.req.param("snapshot"))),
  );
  app.post("/volumes/:name/snapshots/:snapshot/rollback", async (c) => {
    await manager.rollback(c.req.param("name"), c.req.param("snapshot"));
    return c.body(null, 204);
  });
  app.post("/volumes/:name/snapshots/:snapshot/clone", async (c) => {
    const b = await body(c.req.raw);
    return c.json(await manager.clone(c.req.param("name"), c.req.param("snapshot"), str(b, "name")), 201);
  });

  app.put("/volumes/:name/mapping", async (c) => {
    const b = await body(c.req.raw);
    return c.json(await manager.map(c.req.param("name"), { iqn: str(b, "iqn"), lun: int(b, "lun", true) ?? 0 }));
  });
  app.delete("/volumes/:name/mapping", async (c) => c.json(await manager.unmap(c.req.param("name"))));

  app.get("/targets", async (c) => c.json(await manager.listTargets()));
  app.put("/targets/:iqn/chap", async (c) => {
    const b = await body(c.req.raw);
    await manager.setChap(c.req.param("iqn"), { user: str(b, "user"), secret: str(b, "secret") });
    return c.body(null, 204);
  });
  app.delete("/targets/:iqn/chap", async (c) => {
    await manager.setChap(c.req.param("iqn"), null);
    return c.body(null, 204);
  });

  app.get("/sessions", (c) => c.json(deps.sessions()));
  app.post("/gc", async (c) => c.json(await manager.gc()));
  return app;
}
