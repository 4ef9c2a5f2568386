/**
 * Volume management: the database rows, the open volumes, and what the iSCSI target exports. Every change
 * runs under one lock, which also serializes garbage collection with snapshot creation (see `gc.ts`).
 *
 * @module
 */
import { join } from "node:path";
import type { Clock } from "../clock.ts";
import type { Db } from "../db/client.ts";
import type { SecretSealer } from "../db/repos/backends.ts";
import { AppError } from "../errors.ts";
import type { TargetConfig } from "../iscsi/types.ts";
import type { Logger } from "../log.ts";
import type { BackendRegistry } from "../service.ts";
import { collectGarbage, type GcResult } from "./gc.ts";
import { deleteKeys, type VolumeLocation } from "./layout.ts";
import { createRepo, type VolumeRow } from "./repo.ts";
import * as snaps from "./snapshots.ts";
import { openVolume, type Volume, type VolumeOptions, type VolumeStats } from "./volume.ts";

export interface ManagerDeps {
  db: Db;
  backends: BackendRegistry;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Backend and bucket for volumes created without them. */
  defaults(): Promise<{ backend: string; bucket: string }>;
  /** Seals CHAP secrets at rest when present. */
  sealer?: SecretSealer;
  volumeOptions?: Partial<VolumeOptions>;
}

export interface VolumeView {
  id: string;
  name: string;
  backend: string;
  bucket: string;
  prefix: string;
  sizeBytes: number;
  chunkSize: number;
  blockSize: number;
  parent?: { volumeId: string; snapshot: string };
  createdAt: string;
  mapping?: { iqn: string; lun: number };
  stats?: VolumeStats;
}

export interface TargetView {
  iqn: string;
  chapUser?: string;
  luns: { lun: number; volume: string }[];
}

export interface CreateVolumeInput {
  name: string;
  sizeBytes: number;
  backend?: string;
  bucket?: string;
  chunkSize?: number;
  blockSize?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const IQN = /^(iqn\.\d{4}-\d{2}\.[a-z0-9][a-z0-9.-]*(:[^\s]+)?|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$/;
const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

function validateIqn(iqn: string): void {
  if (!IQN.test(iqn) || iqn.length > 223) {
    throw new AppError("InvalidArgument", `Invalid target name "${iqn}": expected iqn.YYYY-MM.reverse.domain[:name]`);
  }
}

export function createVolumeManager(deps: ManagerDeps) {
  const repo = createRepo(deps.db);
  const open = new Map<string, Volume>();
  const openNames = new Map<string, string>();
  let targets = new Map<string, TargetConfig>();
  /** Volumes with snapshots or clones: chunks they stop using may still be referenced, so only GC frees them. */
  const shared = new Set<string>();
  /** Mapped volumes that could not be opened at the last refresh (backend unreachable). */
  let unopened = 0;
  let tail: Promise<unknown> = Promise.resolve();

  function locked<T>(work: () => Promise<T>): Promise<T> {
    const run = tail.then(work);
    tail = run.catch(() => {});
    return run;
  }

  const loc = (row: VolumeRow): VolumeLocation => ({
    store: deps.backends.get(row.backendId),
    bucket: row.bucket,
    prefix: row.prefix,
  });
  const cacheDir = (id: string) => join(deps.dataDir, "blockdev", id);

  async function updateShared(id: string): Promise<void> {
    const clones = (await repo.listVolumes()).some((v) => v.parentId === id);
    if (clones || (await repo.listSnapshots(id)).length > 0) shared.add(id);
    else shared.delete(id);
  }

  /** Deletes chunk objects of an unshared volume as soon as a flush replaces or trims them. */
  function freeReplaced(row: VolumeRow, keys: string[]): void {
    if (shared.has(row.id)) return;
    const own = keys.filter((k) => k.startsWith(`${row.prefix}/chunks/`));
    deleteKeys(loc(row), own).catch((err) =>
      deps.logger.warn("replaced chunks not deleted; garbage collection will", { volume: row.name, error: String(err) })
    );
  }

  async function ensureOpen(row: VolumeRow): Promise<Volume> {
    let volume = open.get(row.id);
    if (!volume) {
      await updateShared(row.id);
      volume = await openVolume({
        ...deps.volumeOptions,
        loc: loc(row),
        cacheDir: cacheDir(row.id),
        clock: deps.clock,
        logger: deps.logger,
        onReplaced: (keys) => freeReplaced(row, keys),
      });
      open.set(row.id, volume);
      openNames.set(row.id, row.name);
    }
    return volume;
  }

  async function closeVolume(id: string): Promise<void> {
    const volume = open.get(id);
    open.delete(id);
    openNames.delete(id);
    await volume?.close();
  }

  /** Rebuild what the iSCSI target exports from the database, opening mapped volumes. */
  async function refresh(): Promise<void> {
    const rows = new Map((await repo.listVolumes()).map((v) => [v.id, v]));
    const next = new Map<string, TargetConfig>();
    let failed = 0;
    for (const t of await repo.listTargets()) {
      const config: TargetConfig = { luns: new Map() };
      if (t.chapUser && t.chapSecret) {
        config.chap = { user: t.chapUser, secret: deps.sealer ? await deps.sealer.open(t.chapSecret) : t.chapSecret };
      }
      next.set(t.iqn, config);
    }
    for (const lun of await repo.listLuns()) {
      const row = rows.get(lun.volumeId);
      if (!row) continue;
      try {
        next.get(lun.targetIqn)?.luns.set(lun.lun, await ensureOpen(row));
      } catch (err) {
        failed++;
        deps.logger.error("cannot open mapped volume; its LUN is not exported yet", {
          volume: row.name,
          error: String(err),
        });
      }
    }
    targets = next;
    unopened = failed;
  }

  async function view(row: VolumeRow): Promise<VolumeView> {
    const lun = (await repo.listLuns()).find((l) => l.volumeId === row.id);
    const stats = open.get(row.id)?.stats();
    return {
      id: row.id,
      name: row.name,
      backend: row.backendId,
      bucket: row.bucket,
      prefix: row.prefix,
      sizeBytes: row.sizeBytes,
      chunkSize: row.chunkSize,
      blockSize: row.blockSize,
      ...(row.parentId ? { parent: { volumeId: row.parentId, snapshot: row.parentSnapshot ?? "" } } : {}),
      createdAt: row.createdAt.toISOString(),
      ...(lun ? { mapping: { iqn: lun.targetIqn, lun: lun.lun } } : {}),
      ...(stats ? { stats } : {}),
    };
  }

  async function refuseMapped(row: VolumeRow, action: string): Promise<void> {
    const lun = (await repo.listLuns()).find((l) => l.volumeId === row.id);
    if (lun) {
      throw new AppError(
        "Conflict",
        `Cannot ${action} volume "${row.name}": it is exported as LUN ${lun.lun} of ${lun.targetIqn}; unmap it first`,
      );
    }
  }

  function checkName(kind: string, name: string): void {
    if (!NAME.test(name)) {
      throw new AppError("InvalidArgument", `Invalid ${kind} name "${name}": 1-63 letters, digits, '.', '_' or '-'`);
    }
  }

  async function insertVolume(input: CreateVolumeInput, parent?: { row: VolumeRow; snapshot: string }) {
    checkName("volume", input.name);
    if ((await repo.listVolumes()).some((v) => v.name === input.name)) {
      throw new AppError("Conflict", `A volume named "${input.name}" already exists`);
    }
    const defaults = parent ? undefined : await deps.defaults();
    const backendId = parent?.row.backendId ?? input.backend ?? defaults!.backend;
    if (!deps.backends.ids().includes(backendId)) throw new AppError("NotFound", `No backend "${backendId}"`);
    const id = crypto.randomUUID();
    const row: VolumeRow = {
      id,
      name: input.name,
      backendId,
      bucket: parent?.row.bucket ?? input.bucket ?? defaults!.bucket,
      prefix: `blockdev/${id}`,
      sizeBytes: input.sizeBytes,
      chunkSize: parent?.row.chunkSize ?? input.chunkSize ?? DEFAULT_CHUNK_SIZE,
      blockSize: parent?.row.blockSize ?? input.blockSize ?? 512,
      parentId: parent?.row.id ?? null,
      parentSnapshot: parent?.snapshot ?? null,
      createdAt: deps.clock.now(),
    };
    const store = deps.backends.get(backendId);
    if (!parent) {
      await store.headBucket(row.bucket).catch(async () => await store.createBucket(row.bucket));
      await snaps.initVolume(loc(row), {
        id,
        sizeBytes: row.sizeBytes,
        chunkSize: row.chunkSize,
        blockSize: row.blockSize,
      });
    } else {
      const meta = await snaps.cloneFromSnapshot(loc(parent.row), parent.snapshot, loc(row), {
        id,
        sizeBytes: input.sizeBytes,
        chunkSize: row.chunkSize,
        blockSize: row.blockSize,
      }, { id: parent.row.id, sizeBytes: parent.row.sizeBytes, chunkSize: row.chunkSize, blockSize: row.blockSize });
      row.sizeBytes = meta.sizeBytes;
    }
    await repo.insertVolume(row);
    return await view(row);
  }

  async function gcBucket(backendId: string, bucket: string): Promise<GcResult> {
    const rows = await repo.volumesIn(backendId, bucket);
    const orphans = await repo.orphansIn(backendId, bucket);
    const result = await collectGarbage(
      { store: deps.backends.get(backendId), bucket },
      rows.map((r) => ({ prefix: r.prefix, ...(open.has(r.id) ? { open: open.get(r.id)! } : {}) })),
      [...rows.map((r) => r.prefix), ...orphans.map((o) => o.prefix)],
    );
    for (const o of orphans) if (result.kept[o.prefix] === 0) await repo.dropOrphan(o);
    return result;
  }

  return {
    start: () => locked(refresh),
    /** Retry opening mapped volumes whose backend was unreachable. */
    retryUnopened: () => unopened > 0 ? locked(refresh) : Promise.resolve(),
    resolveTarget: (iqn: string): TargetConfig | undefined => targets.get(iqn),
    targetNames: () => [...targets.keys()],
    openVolumes: () => [...open.entries()].map(([id, volume]) => ({ name: openNames.get(id) ?? id, volume })),
    listVolumes: async () => await Promise.all((await repo.listVolumes()).map(view)),
    getVolume: async (name: string) => await view(await repo.volumeByName(name)),
    createVolume: (input: CreateVolumeInput) => locked(() => insertVolume(input)),
    resizeVolume: (name: string, sizeBytes: number) =>
      locked(async () => {
        const row = await repo.volumeByName(name);
        await (await ensureOpen(row)).resize(sizeBytes);
        await repo.setVolumeSize(row.id, sizeBytes);
        return await view({ ...row, sizeBytes });
      }),
    deleteVolume: (name: string) =>
      locked(async () => {
        const row = await repo.volumeByName(name);
        await refuseMapped(row, "delete");
        await closeVolume(row.id);
        await snaps.deleteVolumeObjects(loc(row));
        await repo.addOrphan({ backendId: row.backendId, bucket: row.bucket, prefix: row.prefix });
        await repo.deleteVolume(row.id);
        await Deno.remove(cacheDir(row.id), { recursive: true }).catch(() => {});
        return await gcBucket(row.backendId, row.bucket);
      }),
    createSnapshot: (volume: string, name: string) =>
      locked(async () => {
        const row = await repo.volumeByName(volume);
        const opened = await ensureOpen(row);
        shared.add(row.id); // before the chunk map is frozen: from now on replaced chunks may be the snapshot's
        const info = await snaps.createSnapshot(opened, loc(row), name, deps.clock.now()).catch(async (err) => {
          await updateShared(row.id);
          throw err;
        });
        await repo.insertSnapshot({ volumeId: row.id, name, chunks: info.chunks, createdAt: new Date(info.createdAt) });
        return info;
      }),
    listSnapshots: async (volume: string) => await snaps.listSnapshots(loc(await repo.volumeByName(volume))),
    deleteSnapshot: (volume: string, name: string) =>
      locked(async () => {
        const row = await repo.volumeByName(volume);
        await snaps.deleteSnapshot(loc(row), name);
        await repo.deleteSnapshot(row.id, name);
        await updateShared(row.id);
        return await gcBucket(row.backendId, row.bucket);
      }),
    rollback: (volume: string, name: string) =>
      locked(async () => {
        const row = await repo.volumeByName(volume);
        await refuseMapped(row, "roll back");
        await snaps.rollbackToSnapshot(await ensureOpen(row), loc(row), name);
      }),
    clone: (volume: string, snapshot: string, name: string) =>
      locked(async () => {
        const row = await repo.volumeByName(volume);
        return await insertVolume({ name, sizeBytes: row.sizeBytes }, { row, snapshot });
      }),
    map: (volume: string, input: { iqn: string; lun: number }) =>
      locked(async () => {
        validateIqn(input.iqn);
        if (!Number.isInteger(input.lun) || input.lun < 0 || input.lun > 255) {
          throw new AppError("InvalidArgument", `LUN must be 0-255, got ${input.lun}`);
        }
        const row = await repo.volumeByName(volume);
        const luns = await repo.listLuns();
        if (luns.some((l) => l.volumeId === row.id)) {
          throw new AppError("Conflict", `Volume "${volume}" is already mapped`);
        }
        if (
          luns.some((l) => l.targetIqn === input.iqn && l.lun === input.lun)
        ) {
          throw new AppError("Conflict", `LUN ${input.lun} of ${input.iqn} is already in use`);
        }
        if (!(await repo.listTargets()).some((t) => t.iqn === input.iqn)) {
          await repo.upsertTarget({ iqn: input.iqn, chapUser: null, chapSecret: null, createdAt: deps.clock.now() });
        }
        await repo.insertLun({ targetIqn: input.iqn, lun: input.lun, volumeId: row.id });
        await refresh();
        return await view(row);
      }),
    unmap: (volume: string) =>
      locked(async () => {
        const row = await repo.volumeByName(volume);
        await repo.deleteLun(row.id);
        const remaining = new Set((await repo.listLuns()).map((l) => l.targetIqn));
        for (const t of await repo.listTargets()) if (!remaining.has(t.iqn)) await repo.deleteTarget(t.iqn);
        await refresh();
        return await view(row);
      }),
    setChap: (iqn: string, chap: { user: string; secret: string } | null) =>
      locked(async () => {
        const target = (await repo.listTargets()).find((t) => t.iqn === iqn);
        if (!target) throw new AppError("NotFound", `No target "${iqn}" (map a volume to it first)`);
        if (chap && (chap.secret.length < 12 || chap.secret.length > 16)) {
          throw new AppError("InvalidArgument", "CHAP secrets must be 12 to 16 characters (RFC 3720 initiators)");
        }
        const secret = chap ? (deps.sealer ? await deps.sealer.seal(chap.secret) : chap.secret) : null;
        await repo.upsertTarget({ ...target, chapUser: chap?.user ?? null, chapSecret: secret });
        await refresh();
      }),
    listTargets: async (): Promise<TargetView[]> => {
      const names = new Map((await repo.listVolumes()).map((v) => [v.id, v.name]));
      const luns = await repo.listLuns();
      return (await repo.listTargets()).map((t) => ({
        iqn: t.iqn,
        ...(t.chapUser ? { chapUser: t.chapUser } : {}),
        luns: luns.filter((l) => l.targetIqn === t.iqn).map((l) => ({ lun: l.lun, volume: names.get(l.volumeId)! })),
      }));
    },
    gc: () =>
      locked(async () => {
        const buckets = new Map((await repo.listVolumes()).map((v) => [`${v.backendId}\n${v.bucket}`, v]));
        const results: (GcResult & { backend: string; bucket: string })[] = [];
        for (const v of buckets.values()) {
          results.push({ backend: v.backendId, bucket: v.bucket, ...await gcBucket(v.backendId, v.bucket) });
        }
        return results;
      }),
    close: () =>
      locked(async () => {
        targets = new Map();
        for (const id of [...open.keys()]) await closeVolume(id);
      }),
  };
}

export type VolumeManager = ReturnType<typeof createVolumeManager>;
