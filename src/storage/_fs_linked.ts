/**
 * Linked objects: a completed multipart object of the fs backend keeps its data in the upload's part files, so
 * completing an upload moves files instead of copying their bytes.
 *
 *   buckets/<bucket>/objects/<name>       manifest: an object file without data whose metadata also holds
 *                                         `link: {uploadId, parts: [[partNumber, size, checksums], …]}`
 *   buckets/<bucket>/data/<uploadId>/     the upload's directory after completion: upload.json, part-NNNNN
 *
 * Completion (each step durable before the next): the manifest is written to tmp/ and fsynced; it is renamed over
 * `objects/<name>` and that directory fsynced (the commit point); `uploads/<id>` is renamed to `data/<id>`; parts
 * the manifest does not name are removed; the data of the object it replaced, if linked, is removed. Part files
 * are read where they are (`data/`, or `uploads/` between the commit and the move).
 *
 * Recovery, at the first use of a bucket after a start: an upload directory that a manifest references is moved
 * to `data/` (a crash after the commit point); a data directory that no manifest references is removed (a crash
 * after replacing or deleting a linked object, before its data was removed).
 *
 * @module
 */
import { AppError } from "../errors.ts";
import type { ChecksumAlgorithm, ObjectPart } from "./mod.ts";
import { isNotFound, readStoredMeta } from "./_fs_files.ts";
import { type DataSource, type Segment, type SegmentFile, segmentSource } from "./_fs_read.ts";

export interface Link {
  uploadId: string;
  /** `[partNumber, size, checksums]` of each part, in object order (no checksums in manifests written before them). */
  parts: [number, number, Partial<Record<ChecksumAlgorithm, string>>?][];
}

/** The parts of a linked object as the store describes them. */
export function linkedParts(link: Link): ObjectPart[] {
  return link.parts.map(([partNumber, size, checksums = {}]) => ({ partNumber, size, checksums }));
}

interface LinksDeps {
  bucketDir(bucket: string): string;
  objectPath(bucket: string, key: string): string;
  partName(partNumber: number): string;
  syncDir(dir: string): Promise<void>;
  /** Moves `dir` out of view and deletes it; `onMissing` is thrown when it does not exist. */
  discardDir(dir: string, onMissing: () => AppError): Promise<void>;
  /** Opens a part file for reading (NotFound when it does not exist). */
  openPartFile(path: string): Promise<SegmentFile>;
}

export type Links = ReturnType<typeof createLinks>;

export function createLinks(deps: LinksDeps) {
  const dataRoot = (bucket: string) => `${deps.bucketDir(bucket)}/data`;
  const uploadsRoot = (bucket: string) => `${deps.bucketDir(bucket)}/uploads`;
  /** Readers per linked object (`bucket/uploadId`): data of a replaced object is removed once none is left. */
  const pins = new Map<string, { count: number; retired: boolean }>();

  async function openPart(bucket: string, uploadId: string, partNumber: number) {
    const name = `${uploadId}/${deps.partName(partNumber)}`;
    // The upload directory moves from uploads/ to data/ once, right after the commit point.
    const candidates = [dataRoot(bucket), uploadsRoot(bucket), dataRoot(bucket)];
    for (const root of candidates) {
      try {
        return await deps.openPartFile(`${root}/${name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    throw new AppError("Internal", `Part ${partNumber} of stored object ${uploadId} is missing`);
  }

  function discard(bucket: string, uploadId: string): Promise<void> {
    return deps.discardDir(`${dataRoot(bucket)}/${uploadId}`, () => new AppError("Internal", "already removed"))
      .catch(() => {});
  }

  /** Which key (if any) has a manifest that references `uploadId`, whose directory is `dir`. */
  async function linkedKey(bucket: string, uploadId: string, dir: string): Promise<string | undefined> {
    let key: string;
    try {
      key = (JSON.parse(await Deno.readTextFile(`${dir}/upload.json`)) as { key: string }).key;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const meta = await readStoredMeta<{ key: string; link?: Link }>(deps.objectPath(bucket, key));
    return meta?.key === key && meta.link?.uploadId === uploadId ? key : undefined;
  }

  return {
    dataDir: (bucket: string, uploadId: string) => `${dataRoot(bucket)}/${uploadId}`,

    /** The object's bytes, read from its part files; its data stays on disk until the source is released. */
    source(bucket: string, link: Link): DataSource {
      const id = `${bucket}/${link.uploadId}`;
      const pin = pins.get(id) ?? { count: 0, retired: false };
      pin.count++;
      pins.set(id, pin);
      const segments: Segment[] = link.parts.map(([partNumber, size]) => ({
        size,
        open: () => openPart(bucket, link.uploadId, partNumber),
      }));
      return segmentSource(segments, () => {
        if (--pin.count > 0) return;
        pins.delete(id);
        if (pin.retired) void discard(bucket, link.uploadId);
      });
    },

    /** Removes a replaced or deleted object's data, once no reader holds it. Call only after the change is durable. */
    async retire(bucket: string, uploadId: string): Promise<void> {
      const pin = pins.get(`${bucket}/${uploadId}`);
      if (pin) pin.retired = true;
      else await discard(bucket, uploadId);
    },

    /** Finishes interrupted completions and removes orphaned data; returns the linked keys with their upload ids. */
    async recover(bucket: string): Promise<Map<string, string>> {
      await Deno.mkdir(dataRoot(bucket), { recursive: true });
      let moved = false;
      for await (const e of Deno.readDir(uploadsRoot(bucket))) {
        const dir = `${uploadsRoot(bucket)}/${e.name}`;
        if (await linkedKey(bucket, e.name, dir) === undefined) continue;
        await Deno.rename(dir, `${dataRoot(bucket)}/${e.name}`);
        moved = true;
      }
      if (moved) await Promise.all([deps.syncDir(dataRoot(bucket)), deps.syncDir(uploadsRoot(bucket))]);
      const linked = new Map<string, string>();
      for await (const e of Deno.readDir(dataRoot(bucket))) {
        const key = await linkedKey(bucket, e.name, `${dataRoot(bucket)}/${e.name}`);
        if (key === undefined) await discard(bucket, e.name);
        else linked.set(key, e.name);
      }
      return linked;
    },
  };
}
