/**
 * Multipart uploads for the fs backend. State lives under `buckets/<bucket>/uploads/<id>/` (`upload.json` plus
 * one file per part, each renamed into place when complete), so uploads survive a restart and stay completable.
 *
 * @module
 */
import { isAppError } from "../errors.ts";
import type { CompletedPart, MultipartMethods, ObjectInfo, PartInfo } from "./mod.ts";
import { drainBody, lettingGo } from "./_body.ts";
import { validateKey } from "./_keys.ts";
import {
  checkCompletionChecksums,
  multipartChecksums,
  multipartEtag,
  partChecksums,
  partListing,
  quoteEtag,
  repeatsCompletion,
  selectCompletedParts,
  validatePartNumber,
} from "./_multipart.ts";
import { newObjectTags, noSuchBucket, noSuchUpload, pageUploads, storedAttributes, tagCountOf } from "./_objects.ts";
import { resolveMaxKeys } from "./_sorted_keys.ts";
import { isNotFound, mapFsError, readStoredMeta } from "./_fs_files.ts";
import { writeTemp } from "./_fs_temp_file.ts";
import type { Link } from "./_fs_linked.ts";
import { type FsCore, objectInfo, objectMeta, type PartMeta, toInfo, type UploadMeta } from "./_fs_core.ts";

const UPLOAD_ID = /^[0-9a-f]{32}$/;

export function fsMultipart(core: FsCore): MultipartMethods {
  const { tmp, clock, indexOf, serialized, rename, publishLinked, discardDir, copyToTemp, linkedDir } = core;
  const { bucketDir, uploadDir, partPath } = core.paths;

  async function readUpload(bucket: string, key: string, uploadId: string): Promise<UploadMeta> {
    await indexOf(bucket);
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${uploadDir(bucket, uploadId)}/upload.json`)) as UploadMeta;
      if (meta.key !== key) throw noSuchUpload(uploadId);
      return meta;
    } catch (err) {
      throw isNotFound(err) ? noSuchUpload(uploadId) : err;
    }
  }

  /** The object at `key` when `uploadId`'s completion with `parts` made it (see `repeatsCompletion`). */
  async function completedBy(bucket: string, key: string, uploadId: string, parts: CompletedPart[]) {
    const opened = await core.readObject(bucket, key).catch((err) => {
      if (!isAppError(err, "NoSuchKey")) throw err;
    });
    if (!opened) return undefined;
    opened.file.close();
    const { link } = opened.meta;
    const made = link && { uploadId: link.uploadId, partNumbers: link.parts.map(([n]) => n) };
    return repeatsCompletion(parts, uploadId, made) ? objectInfo(opened.meta) : undefined;
  }

  async function partNumbers(bucket: string, uploadId: string): Promise<number[]> {
    const numbers: number[] = [];
    for await (const e of Deno.readDir(uploadDir(bucket, uploadId))) {
      if (e.name.startsWith("part-")) numbers.push(Number(e.name.slice(5)));
    }
    return numbers.sort((a, b) => a - b);
  }

  async function readParts(bucket: string, uploadId: string, numbers: number[]): Promise<PartInfo[]> {
    const metas = await Promise.all(numbers.map((n) => readStoredMeta<PartMeta>(partPath(bucket, uploadId, n))));
    return metas.filter((m) => m !== undefined).map((m) => toInfo<PartInfo>(m));
  }

  /** Uploads being completed (`bucket/uploadId`): their parts are no longer replaced. */
  const completing = new Set<string>();

  async function publishPart(bucket: string, uploadId: string, partNumber: number, tmpPath: string) {
    await rename(tmpPath, partPath(bucket, uploadId, partNumber), () => noSuchUpload(uploadId), undefined, () => {
      if (completing.has(`${bucket}/${uploadId}`)) throw noSuchUpload(uploadId);
    });
  }

  /** Parts uploaded but not named by the completion are not part of the object. */
  async function removeUnselected(dir: string, selected: Set<number>) {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith("part-") && !selected.has(Number(e.name.slice(5)))) {
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
      }
    }
  }

  return {
    async createMultipartUpload(bucket, key, opts = {}) {
      validateKey(key);
      await indexOf(bucket);
      const uploadId = crypto.randomUUID().replaceAll("-", "");
      const { signal: _signal, ...options } = opts;
      const staging = `${tmp}/${crypto.randomUUID()}`;
      try {
        await Deno.mkdir(staging);
        const meta: UploadMeta = { key, initiated: clock.now().toISOString(), options };
        await Deno.writeTextFile(`${staging}/upload.json`, JSON.stringify(meta));
        await rename(staging, uploadDir(bucket, uploadId), () => noSuchBucket(bucket));
      } catch (err) {
        await Deno.remove(staging, { recursive: true }).catch(() => {});
        throw mapFsError(err);
      }
      return uploadId;
    },

    async uploadPart(bucket, key, upload, body, opts = {}) {
      return await lettingGo(body, async () => {
        validatePartNumber(upload.partNumber);
        const { options } = await readUpload(bucket, key, upload.uploadId);
        const checksums = partChecksums(options.checksumAlgorithm, opts);
        let info: PartInfo | undefined;
        return await core.space.withRoom(opts.contentLength ?? 0, async () => {
          const tmpPath = await writeTemp(tmp, async (out) => {
            const write = (chunk: Uint8Array) => {
              checksums.update(chunk);
              return out.write(chunk);
            };
            const { size, md5Hex } = await drainBody(body, opts, write, core.bodyHash(opts));
            info = {
              partNumber: upload.partNumber,
              etag: quoteEtag(md5Hex),
              size,
              lastModified: clock.now(),
              checksums: checksums.result(),
            };
            await out.writeMeta(info);
          }, { direct: core.direct });
          await publishPart(bucket, upload.uploadId, upload.partNumber, tmpPath);
          return info!;
        });
      });
    },

    async uploadPartCopy(source, target) {
      validatePartNumber(target.partNumber);
      const upload = await readUpload(target.bucket, target.key, target.uploadId);
      const checksums = partChecksums(upload.options.checksumAlgorithm);
      let info: PartInfo | undefined;
      const tmpPath = await copyToTemp(
        { ...source, range: source.range ?? { start: 0, end: Number.MAX_SAFE_INTEGER } },
        (_src, size, md5Hex) => {
          info = {
            partNumber: target.partNumber,
            etag: quoteEtag(md5Hex!),
            size,
            lastModified: clock.now(),
            checksums: checksums.result(),
          };
          return info;
        },
        () => checksums.update,
      );
      await publishPart(target.bucket, target.uploadId, target.partNumber, tmpPath);
      return info!;
    },

    completeMultipartUpload(bucket, key, uploadId, parts, opts = {}) {
      return serialized(uploadDir(bucket, uploadId), async () => {
        let upload: UploadMeta;
        try {
          upload = await readUpload(bucket, key, uploadId);
        } catch (err) {
          const repeated = isAppError(err, "NoSuchUpload")
            ? await completedBy(bucket, key, uploadId, parts)
            : undefined;
          if (repeated) return repeated;
          throw err;
        }
        const numbers = parts.map((p) => p.partNumber).filter((n) => Number.isInteger(n) && n >= 1 && n <= 10_000);
        const id = `${bucket}/${uploadId}`;
        completing.add(id);
        try {
          // Part uploads that are already renaming finish first; later ones are refused (see publishPart).
          await Promise.all(numbers.map((n) => serialized(partPath(bucket, uploadId, n), () => Promise.resolve())));
          const stored = await readParts(bucket, uploadId, numbers);
          const selected = selectCompletedParts(
            parts,
            new Map(stored.map((p) => [p.partNumber, p])),
            upload.options,
            opts,
          );
          const checksums = multipartChecksums(selected, upload.options.checksumType);
          checkCompletionChecksums(opts.checksums, checksums);
          const tags = newObjectTags(upload.options);
          const info: ObjectInfo = {
            key,
            size: selected.reduce((s, p) => s + p.size, 0),
            etag: multipartEtag(selected),
            lastModified: clock.now(),
            partsCount: selected.length,
            checksums: { ...upload.options.checksums, ...checksums },
            ...storedAttributes(upload.options),
            ...tagCountOf(tags),
          };
          const link: Link = { uploadId, parts: selected.map((p) => [p.partNumber, p.size, p.checksums]) };
          const manifest = await writeTemp(tmp, (out) => out.writeMeta({ ...objectMeta(info, tags), link }));
          await publishLinked(bucket, key, uploadId, manifest, opts.condition);
          await removeUnselected(linkedDir(bucket, uploadId), new Set(selected.map((p) => p.partNumber)));
          return info;
        } finally {
          completing.delete(id);
        }
      });
    },

    abortMultipartUpload(bucket, key, uploadId) {
      return serialized(uploadDir(bucket, uploadId), async () => {
        await readUpload(bucket, key, uploadId);
        await discardDir(uploadDir(bucket, uploadId), () => noSuchUpload(uploadId));
      });
    },

    async listParts(bucket, key, uploadId, opts = {}) {
      const upload = await readUpload(bucket, key, uploadId);
      const maxParts = resolveMaxKeys(opts.maxParts);
      const numbers = (await partNumbers(bucket, uploadId)).filter((n) => n > (opts.partNumberMarker ?? 0));
      const parts = await readParts(bucket, uploadId, numbers.slice(0, maxParts));
      return partListing(parts, numbers.length > maxParts, upload.options, opts.partNumberMarker);
    },

    async listMultipartUploads(bucket, opts = {}) {
      await indexOf(bucket);
      const uploads = [];
      for await (const e of Deno.readDir(`${bucketDir(bucket)}/uploads`)) {
        try {
          const meta = JSON.parse(await Deno.readTextFile(`${uploadDir(bucket, e.name)}/upload.json`)) as UploadMeta;
          uploads.push({ uploadId: e.name, key: meta.key, initiated: new Date(meta.initiated) });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return pageUploads(uploads, opts);
    },
  };
}
