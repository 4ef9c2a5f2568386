/**
 * `s3` backend: any S3-compatible upstream (AWS, MinIO, Ceph RGW, Wasabi, R2, B2) through @aws-sdk/client-s3.
 *
 * - Bodies stream both ways. A put with a known length is one streaming PutObject (up to 5 GiB); an unknown
 *   length (or > 5 GiB) goes through @aws-sdk/lib-storage `Upload` (multipart, bounded memory: queueSize × partSize).
 * - Body checks (length, MD5, abort) happen in `verifiedBody`, which withholds the last chunk until they pass.
 * - Multipart completion is validated locally against ListParts with the same rules as the other backends, so
 *   clients see identical InvalidPart/InvalidPartOrder/EntityTooSmall errors whatever the upstream does.
 * - `bucketPrefix` maps our bucket `b` to upstream `<prefix>b` (several appliances can share one account).
 *
 * @module
 */
import {
  type _Object,
  type CommonPrefix,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { systemClock } from "../clock.ts";
import { AppError, isAppError } from "../errors.ts";
import type { CopyOptions, ObjectInfo, ObjectStore } from "./mod.ts";
import { compareKeys, validateBucketName, validateKey } from "./_keys.ts";
import { checkRange, copyAttributes, storedAttributes } from "./_objects.ts";
import { resolveMaxKeys } from "./_sorted_keys.ts";
import { md5Base64, sendStreaming, verifiedBody } from "./_s3_body.ts";
import { mapS3Error } from "./_s3_errors.ts";
import {
  checksumParams,
  copySource,
  createS3Client,
  quoted,
  type S3StoreOptions,
  toInfo,
  writeParams,
} from "./_s3_client.ts";
import { s3Multipart } from "./_s3_multipart.ts";

export type { S3StoreOptions } from "./_s3_client.ts";

const MAX_SINGLE_PUT = 5 * 1024 ** 3;

export function createS3Store(options: S3StoreOptions): ObjectStore {
  const client: S3Client = createS3Client(options);
  const prefix = options.bucketPrefix ?? "";
  const partSize = options.partSize ?? 16 * 1024 * 1024;
  const clock = options.clock ?? systemClock();
  const upstream = (bucket: string) => {
    validateBucketName(bucket);
    return `${prefix}${bucket}`;
  };

  async function send<T>(fn: () => Promise<T>, notFound: "NoSuchBucket" | "NoSuchKey" = "NoSuchBucket"): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapS3Error(err, notFound);
    }
  }

  /** A 404 on HEAD carries no error code: tell a missing key from a missing bucket. */
  async function headObject(bucket: string, key: string): Promise<ObjectInfo> {
    validateKey(key);
    try {
      const out = await client.send(
        new HeadObjectCommand({ Bucket: upstream(bucket), Key: key, ChecksumMode: "ENABLED" }),
      );
      return toInfo(key, out, out.ContentLength ?? 0);
    } catch (err) {
      const mapped = mapS3Error(err, "NoSuchKey");
      if (mapped instanceof AppError && mapped.code === "NoSuchKey") {
        await send(() => client.send(new HeadBucketCommand({ Bucket: upstream(bucket) })));
      }
      throw mapped;
    }
  }

  function listedInfo(o: _Object): ObjectInfo {
    return {
      key: o.Key!,
      size: o.Size ?? 0,
      etag: quoted(o.ETag),
      lastModified: o.LastModified ?? new Date(0),
      metadata: {},
      checksums: {},
      ...(o.StorageClass ? { storageClass: o.StorageClass } : {}),
    };
  }

  const multipart = s3Multipart({ client, upstream, send, headObject, clock });

  /** CopyObject pinned to the source version `etag`; undefined when the source no longer has it. */
  async function copyPinned(
    source: Parameters<ObjectStore["copyObject"]>[0],
    target: Parameters<ObjectStore["copyObject"]>[1],
    opts: CopyOptions,
    etag: string,
  ) {
    const replace = (opts.metadataDirective ?? "COPY") === "REPLACE";
    return await send(() =>
      client.send(
        new CopyObjectCommand({
          Bucket: upstream(target.bucket),
          Key: target.key,
          CopySource: copySource(upstream(source.bucket), source.key),
          CopySourceIfMatch: etag,
          MetadataDirective: replace ? "REPLACE" : "COPY",
          ...(replace ? writeParams(opts) : opts.storageClass ? { StorageClass: opts.storageClass as never } : {}),
        }),
      ), "NoSuchKey").catch((err) => {
        if (isAppError(err, "PreconditionFailed")) return undefined;
        throw err;
      });
  }

  /** A copy of a source the caller has described: one request, no HEAD (see `CopyOptions.knownSource`). */
  async function copyKnown(
    source: Parameters<ObjectStore["copyObject"]>[0],
    target: Parameters<ObjectStore["copyObject"]>[1],
    opts: CopyOptions,
    known: { size: number; etag: string },
  ): Promise<ObjectInfo | undefined> {
    const out = await copyPinned(source, target, opts, known.etag);
    if (!out) return undefined;
    const etag = quoted(out.CopyObjectResult?.ETag ?? known.etag);
    // Servers that ignore If-Match (s3rver) may have copied another version; multipart sources may get a new
    // ETag. Either way, only the copy itself can tell what was copied.
    if (etag !== known.etag) return await headObject(target.bucket, target.key);
    const replace = (opts.metadataDirective ?? "COPY") === "REPLACE";
    return {
      key: target.key,
      size: known.size,
      etag,
      lastModified: out.CopyObjectResult?.LastModified ?? clock.now(),
      checksums: {},
      ...storedAttributes(replace ? opts : opts.storageClass ? { storageClass: opts.storageClass } : {}),
    };
  }

  async function copyObject(
    source: Parameters<ObjectStore["copyObject"]>[0],
    target: Parameters<ObjectStore["copyObject"]>[1],
    opts: CopyOptions,
  ): Promise<ObjectInfo> {
    validateKey(target.key);
    const known = opts.knownSource;
    if (known && !source.range && known.size <= MAX_SINGLE_PUT) {
      const copied = await copyKnown(source, target, opts, known);
      if (copied) return copied; // else the source changed since the caller saw it: describe it and copy that
    }
    for (let attempt = 1;; attempt++) {
      const src = await headObject(source.bucket, source.key);
      if (source.range || src.size > MAX_SINGLE_PUT) {
        // CopyObject takes no range and stops at 5 GiB: copy through a multipart upload of part copies.
        return await multipart.copyByParts(source, target, src, copyAttributes(src, opts));
      }
      // If-Match pins the copy to the version just read, so the result can be described without another HEAD.
      const out = await copyPinned(source, target, opts, src.etag);
      if (out) {
        return {
          key: target.key,
          size: src.size,
          etag: quoted(out.CopyObjectResult?.ETag ?? src.etag),
          lastModified: out.CopyObjectResult?.LastModified ?? clock.now(),
          checksums: { ...src.checksums },
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

  const store: ObjectStore = {
    kind: "s3",
    capabilities: { serverSideCopy: true, objectLock: true },

    async listBuckets() {
      const out = await send(() => client.send(new ListBucketsCommand({})));
      return (out.Buckets ?? [])
        .filter((b) => b.Name?.startsWith(prefix))
        .map((b) => ({ name: b.Name!.slice(prefix.length), createdAt: b.CreationDate ?? new Date(0) }))
        .sort((a, b) => compareKeys(a.name, b.name));
    },

    async createBucket(bucket, opts = {}) {
      const region = options.region;
      // AWS us-east-1 and Ceph RGW answer 200 when the caller already owns the bucket; S3 elsewhere refuses.
      const exists = await client.send(new HeadBucketCommand({ Bucket: upstream(bucket) })).then(
        () => true,
        () => false,
      );
      if (exists) {
        throw new AppError("BucketAlreadyExists", `Bucket "${bucket}" already exists`, { details: { bucket } });
      }
      await send(() =>
        client.send(
          new CreateBucketCommand({
            Bucket: upstream(bucket),
            ...(region && region !== "us-east-1" && !options.omitLocationConstraint
              ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
              : {}),
            ...(opts.objectLock ? { ObjectLockEnabledForBucket: true } : {}),
          }),
        )
      );
    },

    async deleteBucket(bucket) {
      // Some servers (Ceph RGW) delete a bucket that still has in-progress uploads, losing them silently.
      const pending = await multipart.methods.listMultipartUploads(bucket, { maxUploads: 1 }).catch((err) => {
        if (isAppError(err, "NotImplemented", "InvalidArgument")) return { uploads: [] };
        throw err;
      });
      if (pending.uploads.length > 0) {
        throw new AppError("BucketNotEmpty", `Bucket "${bucket}" has multipart uploads in progress`, {
          details: { bucket },
        });
      }
      await send(() => client.send(new DeleteBucketCommand({ Bucket: upstream(bucket) })));
    },

    async headBucket(bucket) {
      await send(() => client.send(new HeadBucketCommand({ Bucket: upstream(bucket) })));
      const listed = await store.listBuckets().catch(() => []);
      return { name: bucket, createdAt: listed.find((b) => b.name === bucket)?.createdAt ?? new Date(0) };
    },

    async putObject(bucket, key, body, opts = {}) {
      validateKey(key);
      const Bucket = upstream(bucket);
      let size = 0;
      const verified = verifiedBody(body, opts, (n) => size = n);
      let etag: string | undefined;
      try {
        if (opts.contentLength !== undefined && opts.contentLength <= MAX_SINGLE_PUT) {
          ({ ETag: etag } = await sendStreaming(verified, opts.signal, (nodeBody, abortSignal) =>
            client.send(
              new PutObjectCommand({
                Bucket,
                Key: key,
                Body: nodeBody,
                ContentLength: opts.contentLength,
                ...(opts.expectedMd5Hex ? { ContentMD5: md5Base64(opts.expectedMd5Hex) } : {}),
                ...writeParams(opts),
                ...checksumParams(opts.checksums),
              }),
              { abortSignal },
            )));
        } else {
          // Unknown length: lib-storage sends one PutObject when the body fits a part, else a multipart upload.
          const upload = new Upload({
            client,
            partSize,
            queueSize: 2,
            leavePartsOnError: false,
            params: { Bucket, Key: key, Body: verified, ...writeParams(opts), ...checksumParams(opts.checksums) },
          });
          const onAbort = () => upload.abort();
          opts.signal?.addEventListener("abort", onAbort, { once: true });
          ({ ETag: etag } = await upload.done().finally(() => opts.signal?.removeEventListener("abort", onAbort)));
        }
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        throw mapS3Error(err, "NoSuchBucket");
      }
      // Ceph RGW's CompleteMultipartUpload answer carries no ETag that the SDK can read: ask for it.
      if (!etag) return await headObject(bucket, key);
      // Built from what was sent, saving a HEAD per upload; the upstream's Last-Modified may differ by its clock skew.
      return {
        key,
        size,
        etag: quoted(etag),
        lastModified: clock.now(),
        checksums: { ...opts.checksums },
        ...storedAttributes(opts),
      };
    },

    async getObject(bucket, key, opts = {}) {
      validateKey(key);
      const range = opts.range;
      if (range) checkRange(range, Number.MAX_SAFE_INTEGER);
      const out = await send(() =>
        client.send(
          new GetObjectCommand({
            Bucket: upstream(bucket),
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : { ChecksumMode: "ENABLED" }),
          }),
          opts.signal ? { abortSignal: opts.signal } : {},
        ), "NoSuchKey");
      const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(out.ContentRange ?? "");
      const size = served ? Number(served[3]) : out.ContentLength ?? 0;
      const body = out.Body
        ? out.Body.transformToWebStream() as ReadableStream<Uint8Array>
        : ReadableStream.from<Uint8Array>([]);
      return {
        info: toInfo(key, out, size),
        body,
        ...(range && served ? { range: { start: Number(served[1]), end: Number(served[2]) } } : {}),
      };
    },

    headObject,

    async deleteObject(bucket, key) {
      validateKey(key);
      await send(() => client.send(new DeleteObjectCommand({ Bucket: upstream(bucket), Key: key })));
    },

    copyObject: (source, target, opts = {}) => copyObject(source, target, opts),

    async listObjects(bucket, opts = {}) {
      const maxKeys = resolveMaxKeys(opts.maxKeys);
      const delimiter = opts.delimiter ?? "";
      const listPrefix = opts.prefix ?? "";
      let startAfter = opts.startAfter;
      // A start-after inside a common prefix means that whole prefix was returned already.
      if (startAfter !== undefined && delimiter && startAfter.startsWith(listPrefix)) {
        const d = startAfter.indexOf(delimiter, listPrefix.length);
        if (d >= 0) startAfter = `${startAfter.slice(0, d + delimiter.length)}\u{10FFFF}`;
      }
      if (maxKeys === 0) return { objects: [], commonPrefixes: [], isTruncated: false };
      const out = await send(() =>
        client.send(
          new ListObjectsV2Command({
            Bucket: upstream(bucket),
            MaxKeys: maxKeys,
            ...(listPrefix ? { Prefix: listPrefix } : {}),
            ...(delimiter ? { Delimiter: delimiter } : {}),
            ...(startAfter !== undefined ? { StartAfter: startAfter } : {}),
          }),
        )
      );
      const objects = (out.Contents ?? []).map(listedInfo);
      const commonPrefixes = (out.CommonPrefixes ?? []).map((p: CommonPrefix) => p.Prefix!);
      const last = [objects.at(-1)?.key, commonPrefixes.at(-1)].filter((k) => k !== undefined).sort(compareKeys).at(-1);
      const isTruncated = out.IsTruncated === true;
      return {
        objects,
        commonPrefixes,
        isTruncated,
        ...(isTruncated && last !== undefined ? { nextStartAfter: last } : {}),
      };
    },

    ...multipart.methods,

    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
  return store;
}
