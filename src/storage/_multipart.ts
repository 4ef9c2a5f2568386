/**
 * Backend-independent multipart rules: part numbers, the completion checks S3 performs
 * (InvalidPartOrder, InvalidPart, EntityTooSmall), the `md5-of-md5s-N` ETag and the object's checksums (composite or
 * full-object, from the parts').
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { AppError, isAppError } from "../errors.ts";
import { walkUploads } from "./walk.ts";
import {
  type ByteRange,
  type ChecksumAlgorithm,
  type ChecksumType,
  type CompletedPart,
  type CompleteOptions,
  isCompositeChecksum,
  MIN_PART_SIZE,
  type MultipartMethods,
  type ObjectPart,
  type ObjectPartListing,
  type PartInfo,
  type PartListing,
  type PutOptions,
  unquoteEtag,
} from "./mod.ts";
import { createDigest } from "../gateway/wire/checksums.ts";
import { combineCrcs, isCombinable } from "./_crc_combine.ts";
import { resolveMaxKeys } from "./_sorted_keys.ts";

export const MAX_PART_NUMBER = 10_000;

/**
 * Whether a completion of `uploadId` naming `requested` repeats the one that made the object now at its key (`made`:
 * the upload and part numbers the object was completed from). S3 answers a repeated completion, as sent by a client
 * retrying one whose answer it lost, with the object, where the upload itself is gone.
 */
export function repeatsCompletion(
  requested: CompletedPart[],
  uploadId: string,
  made: { uploadId: string; partNumbers: number[] } | undefined,
): boolean {
  return made !== undefined && made.uploadId === uploadId &&
    made.partNumbers.length === requested.length &&
    made.partNumbers.every((n, i) => requested[i]!.partNumber === n);
}

/**
 * Aborts every multipart upload in progress in `bucket`, a page at a time: what deleting a bucket that holds no
 * objects does to its uploads in S3. An upload that is gone meanwhile (aborted or completed) is passed over.
 */
export async function abortAllUploads(
  store: Pick<MultipartMethods, "listMultipartUploads" | "abortMultipartUpload">,
  bucket: string,
): Promise<void> {
  for await (const { key, uploadId } of walkUploads(store, bucket)) {
    await store.abortMultipartUpload(bucket, key, uploadId).catch((err) => {
      if (!isAppError(err, "NoSuchUpload")) throw err;
    });
  }
}

export function validatePartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new AppError("InvalidArgument", `Part number must be an integer between 1 and 10000, got ${partNumber}`);
  }
}

export function quoteEtag(hex: string): string {
  return `"${hex}"`;
}

/** Whether an upload created with `options` makes a composite checksum, whose completion names each part's. */
function isCompositeUpload(options: Pick<PutOptions, "checksumAlgorithm" | "checksumType">): boolean {
  const { checksumAlgorithm, checksumType } = options;
  return checksumAlgorithm !== undefined && checksumAlgorithm !== "crc64nvme" && checksumType !== "FULL_OBJECT";
}

/**
 * Checks the client's part list against the stored parts and returns the parts to assemble, in order.
 * Mirrors S3: the completion's checksum type (`completion.checksumType`) must be the `upload`'s when both name one,
 * the parts ascending, each part's checksum named when the `upload` makes a composite one; then existence/ETag match
 * (and the part's checksums, where the client names them: one the part lacks is BadDigest, another value
 * InvalidPart), then the 5 MiB minimum for all but the last.
 */
export function selectCompletedParts(
  requested: CompletedPart[],
  stored: Map<number, PartInfo>,
  upload: Pick<PutOptions, "checksumAlgorithm" | "checksumType">,
  completion: Pick<CompleteOptions, "checksumType"> = {},
): PartInfo[] {
  const { checksumType } = completion;
  if (checksumType !== undefined && upload.checksumType !== undefined && checksumType !== upload.checksumType) {
    throw new AppError(
      "InvalidRequest",
      `The upload was created using the ${upload.checksumType} checksum mode. The complete request must use the ` +
        `same checksum mode.`,
    );
  }
  if (requested.length === 0) throw new AppError("InvalidArgument", "At least one part must be specified");
  for (let i = 1; i < requested.length; i++) {
    if (requested[i]!.partNumber <= requested[i - 1]!.partNumber) {
      throw new AppError("InvalidPartOrder", "The list of parts was not in ascending order", {
        details: { partNumber: requested[i]!.partNumber },
      });
    }
  }
  const algorithm = upload.checksumAlgorithm;
  const unnamed = isCompositeUpload(upload)
    ? requested.find((p) => p.checksums?.[algorithm!] === undefined)
    : undefined;
  if (unnamed) {
    throw new AppError(
      "InvalidRequest",
      `The upload was created using a ${algorithm} checksum. The complete request must include the checksum for ` +
        `each part. It was missing for part ${unnamed.partNumber} in the request.`,
    );
  }
  const selected = requested.map((p) => {
    const part = stored.get(p.partNumber);
    if (!part || unquoteEtag(part.etag) !== unquoteEtag(p.etag)) {
      throw new AppError("InvalidPart", `Part ${p.partNumber} was not found or its ETag does not match`, {
        details: { partNumber: p.partNumber, etag: p.etag },
      });
    }
    for (const [algorithm, value] of Object.entries(p.checksums ?? {})) {
      const stored = part.checksums[algorithm as ChecksumAlgorithm];
      if (stored === undefined) {
        throw new AppError(
          "BadDigest",
          `The ${algorithm} you specified for part ${p.partNumber} did not match what we received.`,
        );
      }
      if (stored !== value) {
        throw new AppError(
          "InvalidPart",
          `Part ${p.partNumber}: the ${algorithm} checksum given does not match the part's (${stored})`,
          { details: { partNumber: p.partNumber, etag: p.etag, algorithm } },
        );
      }
    }
    return part;
  });
  selected.forEach((part, i) => {
    if (i < selected.length - 1 && part.size < MIN_PART_SIZE) {
      throw new AppError("EntityTooSmall", `Part ${part.partNumber} is ${part.size} bytes, smaller than 5 MiB`, {
        details: { partNumber: part.partNumber, size: part.size, minSize: MIN_PART_SIZE },
      });
    }
  });
  return selected;
}

/** Where the next page starts: after the last part listed (after `marker` when a page of none was asked for). */
function nextMarker(parts: readonly { partNumber: number }[], marker: number | undefined): number {
  return parts[parts.length - 1]?.partNumber ?? marker ?? 0;
}

/**
 * A page of ListParts after `marker`: `parts` (ascending, at most the page's size), whether more follow, and the
 * upload's checksum choice from the `options` it was created with.
 */
export function partListing(
  parts: PartInfo[],
  isTruncated: boolean,
  options: Pick<PutOptions, "checksumAlgorithm" | "checksumType">,
  marker: number | undefined,
): PartListing {
  const { checksumAlgorithm, checksumType } = options;
  return {
    parts,
    isTruncated,
    ...(isTruncated ? { nextPartNumberMarker: nextMarker(parts, marker) } : {}),
    ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
    ...(checksumType ? { checksumType } : {}),
  };
}

/** The page of `parts` (all of an object's, ascending) after `partNumberMarker`, at most `maxParts` of them. */
export function objectPartListing(
  etag: string,
  parts: readonly ObjectPart[],
  options: { partNumberMarker?: number; maxParts?: number },
): ObjectPartListing {
  const after = parts.filter((p) => p.partNumber > (options.partNumberMarker ?? 0));
  const page = after.slice(0, resolveMaxKeys(options.maxParts)).map((p) => ({ ...p, checksums: { ...p.checksums } }));
  const isTruncated = after.length > page.length;
  return {
    etag,
    totalPartsCount: parts.length,
    parts: page,
    isTruncated,
    ...(isTruncated ? { nextPartNumberMarker: nextMarker(page, options.partNumberMarker) } : {}),
  };
}

/** Whether `etag` (quoted) is a multipart upload's `"…-N"`, not the MD5 of the object's bytes. */
export function isMultipartEtag(etag: string): boolean {
  return /-\d+"$/.test(etag);
}

/**
 * Whether a copy of `source` keeps its ETag: a whole copy of a simple object does (the MD5 of the same bytes). S3
 * gives a copy of a multipart object, and of a range, the MD5 of its own bytes: it is stored as one part.
 */
export function copyKeepsEtag(source: { etag: string }, range: ByteRange | undefined): boolean {
  return range === undefined && !isMultipartEtag(source.etag);
}

/** The checksums of `checksums` that describe the whole object's bytes (not a composite `…-N` of its parts'). */
export function fullObjectChecksums(
  checksums: Partial<Record<ChecksumAlgorithm, string>>,
): Partial<Record<ChecksumAlgorithm, string>> {
  return Object.fromEntries(Object.entries(checksums).filter(([, value]) => !isCompositeChecksum(value!)));
}

/** Checksums computed while bytes pass: `update` sees each chunk, `result` gives the checksums so far. */
export interface RunningChecksums {
  update(chunk: Uint8Array): void;
  result(): Partial<Record<ChecksumAlgorithm, string>>;
}

/** The checksums of `algorithms` over the chunks `update` sees, base64 as S3 gives them; `given` ones added as they are. */
function runningChecksums(
  algorithms: readonly ChecksumAlgorithm[],
  given: () => Partial<Record<ChecksumAlgorithm, string>> = () => ({}),
): RunningChecksums {
  const digests = algorithms.map((algorithm) => [algorithm, createDigest(algorithm)] as const);
  return {
    update: (chunk) => digests.forEach(([, digest]) => digest.update(chunk)),
    result: () => ({
      ...Object.fromEntries(digests.map(([algorithm, digest]) => [algorithm, digest.digest().toBase64()])),
      ...given(),
    }),
  };
}

/**
 * The checksums of a copy of `source`. A whole copy, which S3 stores as one part, keeps the source's full-object ones
 * and gets, for each composite `…-N` one (which describes the source's parts), the full-object checksum of that
 * algorithm computed from the bytes copied; a copy asked for an algorithm (`x-amz-checksum-algorithm`) gets only that
 * one, computed. A ranged copy asked for none keeps the checksums of `options` (none computed).
 */
export function copyChecksums(
  source: { checksums: Partial<Record<ChecksumAlgorithm, string>>; range?: ByteRange },
  options: Pick<PutOptions, "checksums" | "checksumAlgorithm">,
): RunningChecksums {
  const algorithm = options.checksumAlgorithm;
  if (algorithm) return runningChecksums([algorithm]);
  if (source.range) return runningChecksums([], () => ({ ...options.checksums }));
  const composite = (Object.entries(source.checksums) as [ChecksumAlgorithm, string][])
    .filter(([, value]) => isCompositeChecksum(value)).map(([name]) => name);
  return runningChecksums(composite, () => fullObjectChecksums(source.checksums));
}

export function multipartEtag(parts: PartInfo[]): string {
  const hash = createHash("md5");
  for (const part of parts) hash.update(Buffer.from(unquoteEtag(part.etag), "hex"));
  return quoteEtag(`${hash.digest("hex")}-${parts.length}`);
}

function digestOf(algorithm: ChecksumAlgorithm, data: Uint8Array): Uint8Array | undefined {
  // crc64nvme is full-object only in S3; no composite form exists.
  if (algorithm === "crc64nvme") return undefined;
  const digest = createDigest(algorithm);
  digest.update(data);
  return digest.digest();
}

/**
 * The checksums a part keeps: those the client sent with it (`options.checksums`, verified; for a copy, none), and the
 * checksum of the upload's `algorithm` computed from the part's bytes when the client sends no checksum (neither given
 * nor `pendingChecksum`), as S3 computes it. A part sent with a checksum of another algorithm than the upload's is
 * refused, as S3 refuses it (InvalidRequest). `update` sees each chunk of the part; `result` reads the given checksums
 * again, since trailing ones arrive with the end of the body.
 */
export function partChecksums(
  algorithm: ChecksumAlgorithm | undefined,
  options: Pick<PutOptions, "checksums" | "pendingChecksum"> = {},
): RunningChecksums {
  const given = options.checksums ?? {};
  const named = Object.keys(given) as ChecksumAlgorithm[];
  if (options.pendingChecksum) named.push(options.pendingChecksum);
  if (algorithm && named.length > 0 && !named.includes(algorithm)) {
    throw new AppError(
      "InvalidRequest",
      `Checksum Type mismatch occurred, expected checksum Type: ${algorithm}, actual checksum Type: ${named[0]}`,
    );
  }
  return runningChecksums(algorithm && named.length === 0 ? [algorithm] : [], () => ({ ...given }));
}

/**
 * A multipart object's checksums from its parts', for the algorithms every part carries: full-object (the CRC of the
 * whole object, combined from the parts' CRCs) for CRC64/NVME always and for CRC32 and CRC32C when the upload asked
 * for `FULL_OBJECT`; otherwise composite, `base64(H(concat(raw part checksums)))-N`, as S3 builds them.
 */
export function multipartChecksums(
  parts: PartInfo[],
  type: ChecksumType | undefined,
): Partial<Record<ChecksumAlgorithm, string>> {
  const out: Partial<Record<ChecksumAlgorithm, string>> = {};
  const algorithms = Object.keys(parts[0]?.checksums ?? {}) as ChecksumAlgorithm[];
  for (const algorithm of algorithms) {
    if (!parts.every((p) => p.checksums[algorithm] !== undefined)) continue;
    if (isCombinable(algorithm) && (algorithm === "crc64nvme" || type === "FULL_OBJECT")) {
      out[algorithm] = combineCrcs(algorithm, parts.map((p) => ({ crc: p.checksums[algorithm]!, size: p.size })));
      continue;
    }
    const raw = Buffer.concat(parts.map((p) => Buffer.from(p.checksums[algorithm]!, "base64")));
    const digest = digestOf(algorithm, raw);
    if (digest) out[algorithm] = `${digest.toBase64()}-${parts.length}`;
  }
  return out;
}

/**
 * Checks the whole object's checksums a completion was sent with against those its parts give (a composite one may
 * be sent with or without its `-N`): one the parts do not carry is InvalidArgument, a different value BadDigest.
 */
export function checkCompletionChecksums(
  expected: Partial<Record<ChecksumAlgorithm, string>> | undefined,
  computed: Partial<Record<ChecksumAlgorithm, string>>,
): void {
  for (const [algorithm, value] of Object.entries(expected ?? {}) as [ChecksumAlgorithm, string][]) {
    const actual = computed[algorithm];
    if (actual === undefined) {
      throw new AppError(
        "InvalidArgument",
        `The upload's parts carry no ${algorithm} checksum to check the object's against`,
      );
    }
    if (value !== actual && `${value}-${actual.slice(actual.lastIndexOf("-") + 1)}` !== actual) {
      throw new AppError("BadDigest", `The ${algorithm} you specified did not match the calculated checksum`);
    }
  }
}
