/**
 * Multipart operations of the s3 backend, plus multipart copy (ranged copies and copies over 5 GiB).
 *
 * @module
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type Part,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { type Clock, systemClock } from "../clock.ts";
import { isChecksumAlgorithm } from "../gateway/wire/checksums.ts";
import { AppError, isAppError } from "../errors.ts";
import type { CopySource, MultipartMethods, ObjectInfo, PartInfo, PartListing, PutOptions } from "./mod.ts";
import { validateKey } from "./_keys.ts";
import { selectCompletedParts, validatePartNumber } from "./_multipart.ts";
import { checkRange, checkSourceVersion } from "./_objects.ts";
import { resolveMaxKeys } from "./_sorted_keys.ts";
import { md5Base64, sendStreaming, spool, verifiedBody } from "./_s3_body.ts";
import {
  checksumParams,
  checksumsOf,
  completionChecksumParams,
  conditionParams,
  copySource,
  quoted,
  rangeHeader,
  taggingParams,
  writeParams,
} from "./_s3_client.ts";
import { lettingGo } from "./_body.ts";

const COPY_PART_SIZE = 512 * 1024 * 1024;

export interface S3MultipartDeps {
  client: S3Client;
  upstream(bucket: string): string;
  send<T>(fn: () => Promise<T>, notFound?: "NoSuchBucket" | "NoSuchKey"): Promise<T>;
  headObject(bucket: string, key: string): Promise<ObjectInfo>;
  clock?: Clock;
}

export function s3Multipart(deps: S3MultipartDeps) {
  const { client, upstream, headObject } = deps;
  /** Requests naming an upload id: some servers (Ceph RGW 16) answer NoSuchKey for an unknown upload. */
  const send = <T>(fn: () => Promise<T>, notFound?: "NoSuchBucket" | "NoSuchKey") =>
    deps.send(fn, notFound).catch((err) => {
      if (isAppError(err, "NoSuchKey") && notFound !== "NoSuchKey") {
        throw new AppError("NoSuchUpload", "The multipart upload does not exist", { cause: err });
      }
      throw err;
    });
  const clock = deps.clock ?? systemClock();
  const toPart = (p: Part): PartInfo => ({
    partNumber: p.PartNumber!,
    etag: quoted(p.ETag),
    size: p.Size ?? 0,
    lastModified: p.LastModified ?? new Date(0),
    checksums: checksumsOf(p),
  });

  async function listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker?: number; maxParts?: number } = {},
  ): Promise<PartListing> {
    const out = await send(() =>
      client.send(
        new ListPartsCommand({
          Bucket: upstream(bucket),
          Key: key,
          UploadId: uploadId,
          MaxParts: resolveMaxKeys(opts.maxParts),
          ...(opts.partNumberMarker ? { PartNumberMarker: String(opts.partNumberMarker) } : {}),
        }),
      )
    );
    const isTruncated = out.IsTruncated === true;
    const algorithm = out.ChecksumAlgorithm?.toLowerCase() ?? "";
    return {
      parts: (out.Parts ?? []).map(toPart),
      isTruncated,
      ...(isTruncated && out.NextPartNumberMarker ? { nextPartNumberMarker: Number(out.NextPartNumberMarker) } : {}),
      ...(isChecksumAlgorithm(algorithm) ? { checksumAlgorithm: algorithm } : {}),
      ...(out.ChecksumType ? { checksumType: out.ChecksumType } : {}),
    };
  }

  /** Every part of an upload, page by page, with the upload's checksum choice. */
  async function listAllParts(bucket: string, key: string, uploadId: string): Promise<PartListing> {
    const all = await listParts(bucket, key, uploadId);
    for (let page = all; page.isTruncated && page.nextPartNumberMarker;) {
      page = await listParts(bucket, key, uploadId, { partNumberMarker: page.nextPartNumberMarker });
      all.parts.push(...page.parts);
    }
    return all;
  }

  async function copyPart(
    source: CopySource,
    target: { bucket: string; key: string; uploadId: string; partNumber: number },
    size: number,
  ) {
    // The source was just found by HEAD, so a NoSuchKey here names the upload.
    const out = await send(() =>
      client.send(
        new UploadPartCopyCommand({
          Bucket: upstream(target.bucket),
          Key: target.key,
          UploadId: target.uploadId,
          PartNumber: target.partNumber,
          CopySource: copySource(upstream(source.bucket), source.key),
          ...(source.range ? { CopySourceRange: rangeHeader(source.range) } : {}),
          ...(source.ifMatch ? { CopySourceIfMatch: source.ifMatch } : {}),
        }),
      )
    );
    return {
      partNumber: target.partNumber,
      etag: quoted(out.CopyPartResult?.ETag),
      size,
      lastModified: clock.now(),
      checksums: checksumsOf(out.CopyPartResult ?? {}),
    };
  }

  const methods: MultipartMethods = {
    async createMultipartUpload(bucket, key, opts = {}) {
      validateKey(key);
      const out = await send(() =>
        client.send(
          new CreateMultipartUploadCommand({
            Bucket: upstream(bucket),
            Key: key,
            ...writeParams(opts),
            ...taggingParams(opts.tags),
            ...(opts.checksumAlgorithm ? { ChecksumAlgorithm: opts.checksumAlgorithm.toUpperCase() as never } : {}),
            ...(opts.checksumType ? { ChecksumType: opts.checksumType } : {}),
          }),
        )
      );
      return out.UploadId!;
    },

    async uploadPart(bucket, key, upload, body, opts = {}) {
      return await lettingGo(body, async () => {
        validatePartNumber(upload.partNumber);
        const base = { Bucket: upstream(bucket), Key: key, UploadId: upload.uploadId, PartNumber: upload.partNumber };
        let spooled: string | undefined;
        try {
          let size = opts.contentLength;
          let source: ReadableStream<Uint8Array>;
          if (size === undefined) {
            const s = await spool(body, opts);
            spooled = s.path;
            size = s.size;
            source = (await Deno.open(s.path)).readable;
          } else {
            source = verifiedBody(body, opts);
          }
          const out = await send(() =>
            sendStreaming(source, opts.signal, (nodeBody, abortSignal) =>
              client.send(
                new UploadPartCommand({
                  ...base,
                  Body: nodeBody,
                  ContentLength: size,
                  ...(opts.expectedMd5Hex ? { ContentMD5: md5Base64(opts.expectedMd5Hex) } : {}),
                  ...checksumParams(opts.checksums),
                }),
                { abortSignal },
              ))
          );
          return {
            partNumber: upload.partNumber,
            etag: quoted(out.ETag),
            size,
            lastModified: clock.now(),
            // The upstream's answer names the checksum it computed for a part sent without one.
            checksums: { ...checksumsOf(out), ...opts.checksums },
          };
        } finally {
          if (spooled) await Deno.remove(spooled).catch(() => {});
        }
      });
    },

    async uploadPartCopy(source, target) {
      validatePartNumber(target.partNumber);
      const src = await headObject(source.bucket, source.key);
      checkSourceVersion(source, src.etag);
      const range = source.range ? checkRange(source.range, src.size) : undefined;
      return await copyPart(
        { ...source, ...(range ? { range } : {}) },
        target,
        range ? range.end - range.start + 1 : src.size,
      );
    },

    async completeMultipartUpload(bucket, key, uploadId, parts, opts = {}) {
      let unknown: AppError | undefined;
      const listed = await listAllParts(bucket, key, uploadId).catch((err) => {
        if (!isAppError(err, "NoSuchUpload")) throw err;
        unknown = err;
      });
      const selected = listed
        ? selectCompletedParts(parts, new Map(listed.parts.map((p) => [p.partNumber, p])), listed, opts)
        : parts;
      // When the upload exists (its parts were just listed), with If-Match NoSuchKey means the object is missing.
      const notFound = listed && opts.condition?.ifMatch !== undefined ? "NoSuchKey" : undefined;
      await send(
        () =>
          client.send(
            new CompleteMultipartUploadCommand({
              Bucket: upstream(bucket),
              Key: key,
              UploadId: uploadId,
              // S3 wants each part's checksum in the completion of an upload created with an algorithm.
              MultipartUpload: {
                Parts: selected.map((p) => ({
                  PartNumber: p.partNumber,
                  ETag: p.etag,
                  ...checksumParams(p.checksums),
                })),
              },
              ...conditionParams(opts.condition),
              ...completionChecksumParams(opts.checksums),
            }),
          ),
        notFound,
      ).catch((err) => {
        // Sent without the upload, the completion could only repeat one that succeeded (S3 answers that with the
        // object); anything else the upstream says of it (Ceph RGW 16: a 500) means the upload does not exist.
        throw unknown ?? err;
      });
      return await headObject(bucket, key);
    },

    async abortMultipartUpload(bucket, key, uploadId) {
      await send(() =>
        client.send(new AbortMultipartUploadCommand({ Bucket: upstream(bucket), Key: key, UploadId: uploadId }))
      );
    },

    listParts,

    async listMultipartUploads(bucket, opts = {}) {
      const out = await send(() =>
        client.send(
          new ListMultipartUploadsCommand({
            Bucket: upstream(bucket),
            MaxUploads: resolveMaxKeys(opts.maxUploads),
            ...(opts.prefix ? { Prefix: opts.prefix } : {}),
            ...(opts.keyMarker ? { KeyMarker: opts.keyMarker } : {}),
            ...(opts.uploadIdMarker ? { UploadIdMarker: opts.uploadIdMarker } : {}),
          }),
        )
      );
      return {
        uploads: (out.Uploads ?? []).map((u) => ({
          uploadId: u.UploadId!,
          key: u.Key!,
          initiated: u.Initiated ?? new Date(0),
        })),
        isTruncated: out.IsTruncated === true,
      };
    },
  };

  /** Server-side copy of (a range of) `src` through a multipart upload of part copies. */
  async function copyByParts(
    source: CopySource,
    target: { bucket: string; key: string },
    src: ObjectInfo,
    attrs: PutOptions,
  ) {
    const range = checkRange(source.range ?? { start: 0, end: src.size - 1 }, src.size);
    const uploadId = await methods.createMultipartUpload(target.bucket, target.key, attrs);
    try {
      const parts: PartInfo[] = [];
      for (let start = range.start, n = 1; start <= range.end; start += COPY_PART_SIZE, n++) {
        const end = Math.min(start + COPY_PART_SIZE - 1, range.end);
        parts.push(
          await copyPart({ ...source, range: { start, end } }, { ...target, uploadId, partNumber: n }, end - start + 1),
        );
      }
      return await methods.completeMultipartUpload(target.bucket, target.key, uploadId, parts);
    } catch (err) {
      await methods.abortMultipartUpload(target.bucket, target.key, uploadId).catch(() => {});
      throw err;
    }
  }

  return { methods, copyByParts };
}
