/**
 * CopyObject of the s3 backend: pinned to the source version with x-amz-copy-source-if-match, so the copy is
 * described without a HEAD afterwards; without a HEAD before either when the caller knows the source
 * (`CopyOptions.knownSource`). Ranged copies and copies over 5 GiB go through multipart part copies.
 *
 * @module
 */
import { CopyObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Clock } from "../clock.ts";
import { AppError, isAppError } from "../errors.ts";
import type { CopyOptions, CopySource, ObjectInfo, ObjectStore, ObjectTags } from "./mod.ts";
import { validateKey } from "./_keys.ts";
import { checkSourceVersion, copyAttributes, storedAttributes } from "./_objects.ts";
import { checksumsOf, copySource, quoted, writeParams } from "./_s3_client.ts";
import { fullObjectChecksums } from "./_multipart.ts";
import { CHECKSUM_ELEMENTS } from "../gateway/wire/checksums.ts";
import { type LeanS3, xmlText } from "./_s3_lean.ts";
import type { s3Multipart } from "./_s3_multipart.ts";

const MAX_SINGLE_COPY = 5 * 1024 ** 3;

type Target = Parameters<ObjectStore["copyObject"]>[1];

export interface S3CopyDeps {
  client: S3Client;
  upstream(bucket: string): string;
  send<T>(fn: () => Promise<T>, notFound?: "NoSuchBucket" | "NoSuchKey"): Promise<T>;
  headObject(bucket: string, key: string): Promise<ObjectInfo>;
  tagsOf(bucket: string, key: string): Promise<ObjectTags>;
  /** The lean request path when it can carry these keys, else null (SDK). */
  leanFor(...keys: string[]): LeanS3 | null;
  clock: Clock;
  multipart: ReturnType<typeof s3Multipart>;
}

/**
 * A copy's checksums: as the copy's answer names them; from a server whose answer names none, those of the source a
 * copy keeps (none known when the copy was asked for another algorithm).
 */
function copyResultChecksums(
  answered: ObjectInfo["checksums"],
  source: ObjectInfo,
  opts: CopyOptions,
): ObjectInfo["checksums"] {
  if (Object.keys(answered).length > 0 || opts.checksumAlgorithm) return answered;
  return fullObjectChecksums(source.checksums);
}

export function s3CopyObject(
  deps: S3CopyDeps,
): (source: CopySource, target: Target, opts: CopyOptions) => Promise<ObjectInfo> {
  const { client, upstream, send, headObject, tagsOf, leanFor, clock, multipart } = deps;

  /** CopyObject pinned to the source version `etag`; undefined when the source no longer has it. */
  async function copyPinned(
    source: CopySource,
    target: Target,
    opts: CopyOptions,
    etag: string,
  ): Promise<{ etag?: string; lastModified?: Date; checksums: ObjectInfo["checksums"] } | undefined> {
    const replace = (opts.metadataDirective ?? "COPY") === "REPLACE";
    const Bucket = upstream(target.bucket);
    const sourceHeader = copySource(upstream(source.bucket), source.key);
    const direct = replace ? null : leanFor(source.key, target.key);
    const copied = direct
      ? direct.send({
        method: "PUT",
        bucket: Bucket,
        key: target.key,
        headers: {
          "x-amz-copy-source": sourceHeader,
          "x-amz-copy-source-if-match": etag,
          "x-amz-metadata-directive": "COPY",
          ...(opts.checksumAlgorithm ? { "x-amz-checksum-algorithm": opts.checksumAlgorithm.toUpperCase() } : {}),
          ...(opts.storageClass ? { "x-amz-storage-class": opts.storageClass } : {}),
        },
      }, "NoSuchKey").then(({ body }) => {
        const lastModified = xmlText(body, "LastModified");
        const named = Object.fromEntries(
          Object.values(CHECKSUM_ELEMENTS).map((field) => [field, xmlText(body, field)]),
        );
        return {
          etag: xmlText(body, "ETag"),
          ...(lastModified ? { lastModified: new Date(lastModified) } : {}),
          checksums: checksumsOf(named),
        };
      })
      : send(() =>
        client.send(
          new CopyObjectCommand({
            Bucket,
            Key: target.key,
            CopySource: sourceHeader,
            CopySourceIfMatch: etag,
            MetadataDirective: replace ? "REPLACE" : "COPY",
            ...(opts.checksumAlgorithm ? { ChecksumAlgorithm: opts.checksumAlgorithm.toUpperCase() as never } : {}),
            ...(replace ? writeParams(opts) : opts.storageClass ? { StorageClass: opts.storageClass as never } : {}),
          }),
        ), "NoSuchKey").then((out) => ({
          etag: out.CopyObjectResult?.ETag,
          lastModified: out.CopyObjectResult?.LastModified,
          checksums: checksumsOf(out.CopyObjectResult ?? {}),
        }));
    return await copied.catch((err) => {
      if (isAppError(err, "PreconditionFailed")) return undefined;
      throw err;
    });
  }

  /** A copy of a source the caller has described: one request, no HEAD (see `CopyOptions.knownSource`). */
  async function copyKnown(
    source: CopySource,
    target: Target,
    opts: CopyOptions,
    known: { size: number; etag: string },
  ): Promise<ObjectInfo | undefined> {
    const out = await copyPinned(source, target, opts, known.etag);
    if (!out) return undefined;
    const etag = quoted(out.etag ?? known.etag);
    // Servers that ignore If-Match (s3rver) may have copied another version; multipart sources may get a new
    // ETag. Either way, only the copy itself can tell what was copied.
    if (etag !== known.etag) return await headObject(target.bucket, target.key);
    const replace = (opts.metadataDirective ?? "COPY") === "REPLACE";
    return {
      key: target.key,
      size: known.size,
      etag,
      lastModified: out.lastModified ?? clock.now(),
      checksums: out.checksums,
      ...storedAttributes(replace ? opts : opts.storageClass ? { storageClass: opts.storageClass } : {}),
    };
  }

  async function copyObject(
    source: CopySource,
    target: Target,
    opts: CopyOptions,
  ): Promise<ObjectInfo> {
    validateKey(target.key);
    const known = opts.knownSource;
    if (known && !source.range && known.size <= MAX_SINGLE_COPY) {
      const copied = await copyKnown(source, target, opts, known);
      if (copied) return copied; // else the source changed since the caller saw it: describe it and copy that
    }
    for (let attempt = 1;; attempt++) {
      const src = await headObject(source.bucket, source.key);
      checkSourceVersion(source, src.etag);
      if (source.range || src.size > MAX_SINGLE_COPY) {
        // CopyObject takes no range and stops at 5 GiB: copy through a multipart upload of part copies, each pinned
        // to the version just read, so that parts of different versions are never joined.
        const tags = opts.taggingDirective === "REPLACE" ? opts.tags : await tagsOf(source.bucket, source.key);
        const checksum = opts.checksumAlgorithm ? { checksumAlgorithm: opts.checksumAlgorithm } : {};
        const attrs = { ...copyAttributes(src, opts), tags, ...checksum };
        try {
          return await multipart.copyByParts({ ...source, ifMatch: src.etag }, target, src, attrs);
        } catch (err) {
          if (!isAppError(err, "PreconditionFailed") || attempt === 2) throw err;
          continue; // the source changed during the copy: copy its new version (or fail above if it was named)
        }
      }
      // If-Match pins the copy to the version just read, so the result can be described without another HEAD.
      const out = await copyPinned(source, target, opts, src.etag);
      if (out) {
        return {
          key: target.key,
          size: src.size,
          etag: quoted(out.etag ?? src.etag),
          lastModified: out.lastModified ?? clock.now(),
          checksums: copyResultChecksums(out.checksums, src, opts),
          ...storedAttributes(copyAttributes(src, opts)),
        };
      }
      if (attempt === 2) {
        throw new AppError("PreconditionFailed", `Source "${source.key}" keeps changing during the copy`, {
          details: { bucket: source.bucket, key: source.key },
        });
      }
    }
  }

  return copyObject;
}
