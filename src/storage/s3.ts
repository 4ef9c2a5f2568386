/**
 * `s3` backend: any S3-compatible upstream (AWS, MinIO, Ceph RGW, Wasabi, R2, B2) through @aws-sdk/client-s3.
 *
 * - Bodies stream both ways. A put with a known length is one streaming PutObject (up to 5 GiB); an unknown
 *   length (or > 5 GiB) goes through @aws-sdk/lib-storage `Upload` (multipart, bounded memory: queueSize × partSize).
 * - Body checks (length, MD5, abort) happen in `verifiedBody`, which withholds the last chunk until they pass.
 * - Multipart completion is validated locally against ListParts with the same rules as the other backends, so
 *   clients see identical InvalidPart/InvalidPartOrder/EntityTooSmall errors whatever the upstream does.
 * - `bucketPrefix` maps our bucket `b` to upstream `<prefix>b` (several appliances can share one account).
 * - HEAD, DELETE, CopyObject (COPY directive) and PutObject of bodies up to 1 MiB are signed here and sent with fetch
 *   (`_s3_lean.ts`): the SDK's per-request CPU cost bounds object-per-second rates (sync, mirror deletes); the rest
 *   uses the SDK.
 *
 * @module
 */
import {
  type _Object,
  type CommonPrefix,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { systemClock } from "../clock.ts";
import { AppError, isAppError } from "../errors.ts";
import { checkWriteCondition, type ObjectInfo, type ObjectStore } from "./mod.ts";
import { compareKeys, validateBucketName, validateKey } from "./_keys.ts";
import { bucketNotEmpty, checkRange, putObjectInfo } from "./_objects.ts";
import { resolveMaxKeys } from "./_sorted_keys.ts";
import { collectBody, md5Base64, sendStreaming, verifiedBody } from "./_s3_body.ts";
import { mapS3Error } from "./_s3_errors.ts";
import {
  checksumParams,
  checksumsOf,
  conditionParams,
  createS3Client,
  quoted,
  type S3StoreOptions,
  taggingParams,
  toInfo,
  upstreamIfMatch,
  writeParams,
} from "./_s3_client.ts";
import { abortAllUploads, isMultipartEtag } from "./_multipart.ts";
import { s3Multipart } from "./_s3_multipart.ts";
import { createLeanS3, headOutput, leanKey, putHeaders } from "./_s3_lean.ts";
import { s3CopyObject } from "./_s3_copy.ts";
import { lettingGo } from "./_body.ts";

export type { S3StoreOptions } from "./_s3_client.ts";

const MAX_SINGLE_PUT = 5 * 1024 ** 3;
/** Known-length bodies up to this size are buffered and sent whole through the lean path. */
const LEAN_PUT_MAX = 1024 * 1024;

export function createS3Store(options: S3StoreOptions): ObjectStore {
  const client: S3Client = createS3Client(options);
  const prefix = options.bucketPrefix ?? "";
  const partSize = options.partSize ?? 16 * 1024 * 1024;
  const clock = options.clock ?? systemClock();
  const upstream = (bucket: string) => {
    validateBucketName(bucket);
    return `${prefix}${bucket}`;
  };
  // HEAD, DELETE and CopyObject without the SDK's per-request cost; null for endpoints with a base path.
  const lean = createLeanS3(options, clock);
  const leanFor = (...keys: string[]) => (lean && keys.every(leanKey) ? lean : null);

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
    const direct = leanFor(key);
    try {
      const out = direct
        ? headOutput(
          (await direct.send({
            method: "HEAD",
            bucket: upstream(bucket),
            key,
            headers: { "x-amz-checksum-mode": "ENABLED" },
          }, "NoSuchKey")).headers,
        )
        : await client.send(new HeadObjectCommand({ Bucket: upstream(bucket), Key: key, ChecksumMode: "ENABLED" }));
      return toInfo(key, out, out.ContentLength ?? 0);
    } catch (err) {
      const mapped = mapS3Error(err, "NoSuchKey");
      if (mapped instanceof AppError && mapped.code === "NoSuchKey") {
        await send(() => client.send(new HeadBucketCommand({ Bucket: upstream(bucket) })));
      }
      throw mapped;
    }
  }

  /**
   * Whether a whole-object answer to a GET of part `partNumber` is right: part 1 of an object that is not multipart.
   * A server that does not know partNumber (Ceph RGW 16, s3rver) answers with the whole object for any part.
   */
  function wholeIsPart(partNumber: number, info: ObjectInfo): boolean {
    return partNumber === 1 && info.partsCount === undefined && !isMultipartEtag(info.etag);
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

  const copyObject = s3CopyObject({
    client,
    upstream,
    send,
    headObject,
    tagsOf: (bucket, key) => store.getObjectTagging(bucket, key),
    leanFor,
    clock,
    multipart,
  });

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
      // Upstreams differ on a bucket that has uploads in progress (some refuse to delete it, some leave the uploads
      // behind): they are aborted here as S3 does, but only once the bucket is seen to hold no objects.
      if ((await store.listObjects(bucket, { maxKeys: 1 })).objects.length > 0) {
        throw bucketNotEmpty(bucket);
      }
      await abortAllUploads(multipart.methods, bucket).catch((err) => {
        if (!isAppError(err, "NotImplemented", "InvalidArgument")) throw err;
      });
      await send(() => client.send(new DeleteBucketCommand({ Bucket: upstream(bucket) })));
    },

    async headBucket(bucket) {
      await send(() => client.send(new HeadBucketCommand({ Bucket: upstream(bucket) })));
      const listed = await store.listBuckets().catch(() => []);
      return { name: bucket, createdAt: listed.find((b) => b.name === bucket)?.createdAt ?? new Date(0) };
    },

    async putObject(bucket, key, body, opts = {}) {
      return await lettingGo(body, async () => {
        validateKey(key);
        const oneRequest = opts.contentLength !== undefined && opts.contentLength <= MAX_SINGLE_PUT;
        // Sent on anything else, lib-storage may choose a multipart upload, and it passes no condition on to one.
        if (opts.condition && !oneRequest) {
          throw new AppError("NotImplemented", "A conditional write needs the body's length");
        }
        const Bucket = upstream(bucket);
        let size = 0;
        const verified = verifiedBody(body, opts, (n) => size = n);
        let etag: string | undefined;
        const small = opts.contentLength !== undefined && opts.contentLength <= LEAN_PUT_MAX;
        const direct = small ? leanFor(key) : null;
        try {
          if (direct && putHeaders(opts)) {
            // verifiedBody checks length and MD5 before the last chunk is released: a bad body sends nothing.
            const bytes = await collectBody(verified, opts.contentLength!);
            // Read now: checksums sent as aws-chunked trailers arrive with the end of the body.
            const headers = putHeaders(opts)!;
            const sent = await direct.send({
              method: "PUT",
              bucket: Bucket,
              key,
              headers,
              body: bytes,
              signal: opts.signal,
            }, "NoSuchBucket");
            etag = sent.headers.get("etag") ?? undefined;
          } else if (oneRequest) {
            ({ ETag: etag } = await sendStreaming(verified, opts.signal, (nodeBody, abortSignal) =>
              client.send(
                new PutObjectCommand({
                  Bucket,
                  Key: key,
                  Body: nodeBody,
                  ContentLength: opts.contentLength,
                  ...(opts.expectedMd5Hex ? { ContentMD5: md5Base64(opts.expectedMd5Hex) } : {}),
                  ...conditionParams(opts.condition),
                  ...writeParams(opts),
                  ...taggingParams(opts.tags),
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
              params: {
                Bucket,
                Key: key,
                Body: verified,
                ...writeParams(opts),
                ...taggingParams(opts.tags),
                ...checksumParams(opts.checksums),
              },
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
        return putObjectInfo(key, size, quoted(etag), clock.now(), opts, opts.tags);
      });
    },

    async getObject(bucket, key, opts = {}) {
      validateKey(key);
      const { range, partNumber } = opts;
      if (range) checkRange(range, Number.MAX_SAFE_INTEGER);
      const partial = range !== undefined || partNumber !== undefined;
      const out = await send(() =>
        client.send(
          new GetObjectCommand({
            Bucket: upstream(bucket),
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
            ...(partNumber !== undefined ? { PartNumber: partNumber } : {}),
            // A range has no checksum; a part has its own (composite objects) or the object's (when it is all of it).
            ...(range ? {} : { ChecksumMode: "ENABLED" }),
          }),
          opts.signal ? { abortSignal: opts.signal } : {},
        ), "NoSuchKey");
      const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(out.ContentRange ?? "");
      const size = served ? Number(served[3]) : out.ContentLength ?? 0;
      const body = out.Body
        ? out.Body.transformToWebStream() as ReadableStream<Uint8Array>
        : ReadableStream.from<Uint8Array>([]);
      const info = toInfo(key, out, size);
      if (partNumber !== undefined && !served && !wholeIsPart(partNumber, info)) {
        await body.cancel();
        throw new AppError("NotImplemented", `The upstream S3 server ignored partNumber ${partNumber} for "${key}"`);
      }
      // S3 answers a part of a composite object with the part's own checksum, named COMPOSITE.
      const partChecksums = partNumber !== undefined && out.ChecksumType === "COMPOSITE" ? info.checksums : undefined;
      return {
        info: partChecksums ? { ...info, checksums: {} } : info,
        body,
        ...(partial && served ? { range: { start: Number(served[1]), end: Number(served[2]) } } : {}),
        ...(partChecksums ? { partChecksums } : {}),
      };
    },

    headObject,

    async deleteObject(bucket, key, opts = {}) {
      validateKey(key);
      const ifMatch = opts.condition?.ifMatch;
      // Some servers ignore If-Match on DELETE (Ceph RGW 16): the ETag is also checked here first, so a condition
      // that already fails is never dropped; the upstream's own check, where it has one, closes the race.
      if (ifMatch !== undefined) checkWriteCondition({ ifMatch }, (await headObject(bucket, key)).etag, key);
      const direct = leanFor(key);
      // With If-Match, NoSuchKey is the object's absence, not the bucket's.
      const notFound = ifMatch !== undefined ? "NoSuchKey" : "NoSuchBucket";
      if (direct) {
        const headers: Record<string, string> = ifMatch !== undefined ? { "if-match": upstreamIfMatch(ifMatch) } : {};
        await direct.send({ method: "DELETE", bucket: upstream(bucket), key, headers }, notFound);
      } else {
        const condition = ifMatch !== undefined ? { IfMatch: upstreamIfMatch(ifMatch) } : {};
        await send(
          () => client.send(new DeleteObjectCommand({ Bucket: upstream(bucket), Key: key, ...condition })),
          notFound,
        );
      }
    },

    async copyObject(source, target, opts = {}) {
      const info = await copyObject(source, target, opts);
      if (opts.taggingDirective !== "REPLACE") return info;
      // Set after the copy: some servers (Ceph RGW 16) ignore a CopyObject's x-amz-tagging-directive.
      await store.putObjectTagging(target.bucket, target.key, opts.tags ?? {});
      return info;
    },

    async getObjectTagging(bucket, key) {
      validateKey(key);
      const out = await send(
        () => client.send(new GetObjectTaggingCommand({ Bucket: upstream(bucket), Key: key })),
        "NoSuchKey",
      );
      return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
    },

    async listObjectParts(bucket, key, opts = {}) {
      validateKey(key);
      const out = await send(
        () =>
          client.send(
            new GetObjectAttributesCommand({
              Bucket: upstream(bucket),
              Key: key,
              ObjectAttributes: ["ETag", "ObjectParts"],
              MaxParts: resolveMaxKeys(opts.maxParts),
              ...(opts.partNumberMarker ? { PartNumberMarker: String(opts.partNumberMarker) } : {}),
            }),
          ).catch((err) => {
            // A success status with a body that is no GetObjectAttributes answer: a server without the operation
            // (Ceph RGW 16 answers `?attributes` as if it were not there).
            const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
            if (status >= 200 && status < 300) {
              throw new AppError("NotImplemented", "The upstream server does not answer GetObjectAttributes");
            }
            throw err;
          }),
        "NoSuchKey",
      );
      const listed = out.ObjectParts;
      if (!listed?.TotalPartsCount) return undefined;
      const isTruncated = listed.IsTruncated === true;
      return {
        etag: quoted(out.ETag),
        totalPartsCount: listed.TotalPartsCount,
        // S3 lists the parts only of objects uploaded with checksums; it counts them all.
        parts: (listed.Parts ?? []).map((p) => ({
          partNumber: p.PartNumber ?? 0,
          size: p.Size ?? 0,
          checksums: checksumsOf(p),
        })),
        isTruncated,
        ...(isTruncated && listed.NextPartNumberMarker
          ? { nextPartNumberMarker: Number(listed.NextPartNumberMarker) }
          : {}),
      };
    },

    async putObjectTagging(bucket, key, tags) {
      validateKey(key);
      // An empty tag set removes the tags (as DeleteObjectTagging does, which not every server has).
      const Tagging = { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
      await send(
        () => client.send(new PutObjectTaggingCommand({ Bucket: upstream(bucket), Key: key, Tagging })),
        "NoSuchKey",
      );
    },

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
      lean?.close();
      return Promise.resolve();
    },
  };
  return store;
}
