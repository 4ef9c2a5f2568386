/**
 * The request body as the store sees it: raw bytes → (aws-chunked decoder, chunk and trailer signatures) →
 * one verifying transform (length, SHA-256 of the payload, Content-MD5, x-amz-checksum-*). Every check runs while
 * streaming and fails the stream at the end at the latest, so a store that commits on a clean end keeps nothing.
 *
 * @module
 */
import type { ChecksumAlgorithm } from "../storage/mod.ts";
import type { ChunkSigning, PayloadMode } from "./auth.ts";
import { S3Error } from "./s3_errors.ts";
import { createAwsChunkedDecoder } from "./wire/aws_chunked_stream.ts";
import {
  createDigest,
  type DigestAlgorithm,
  isChecksumAlgorithm,
  isWellFormedDigest,
  toBase64,
  toHex,
} from "./wire/checksums.ts";
import { chunkSignature, signaturesEqual, trailerSignature } from "./wire/sigv4.ts";

export interface Payload {
  /** Decoded, verified bytes. */
  stream: ReadableStream<Uint8Array>;
  /** Declared decoded length (Content-Length or x-amz-decoded-content-length), when known. */
  declaredLength: number | undefined;
  /** Checksums verified so far; complete once `stream` has ended. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** The first verification failure, if any (stores may wrap stream errors; this is the one to report). */
  failure(): unknown;
  /** Raw bytes received on the wire. */
  bytesIn(): number;
}

export interface PayloadOptions {
  mode: PayloadMode;
  chunkSigning?: ChunkSigning;
  /** Largest decoded body accepted (EntityTooLarge beyond). */
  maxBytes: number;
  /**
   * Whether `x-amz-checksum-*` headers describe this body (default). On CompleteMultipartUpload they describe the
   * assembled object instead, so they must not be checked against the XML body.
   */
  checksumHeadersDescribeBody?: boolean;
}

function headerInt(headers: Headers, name: string): number | undefined {
  const v = headers.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,16}$/.test(v.trim())) throw new S3Error("InvalidArgument", `${name} must be a non-negative integer`);
  return Number(v);
}

/** Which checksum the client announced and, when sent as a header, its expected value. */
function expectedChecksum(
  headers: Headers,
  mode: PayloadMode,
): { alg?: ChecksumAlgorithm; value?: string; inTrailer: boolean } {
  const found: [ChecksumAlgorithm, string][] = [];
  for (const [name, value] of headers) {
    if (!name.startsWith("x-amz-checksum-") || name === "x-amz-checksum-mode" || name === "x-amz-checksum-type") {
      continue;
    }
    const alg = name.slice("x-amz-checksum-".length);
    if (alg === "algorithm") continue;
    if (!isChecksumAlgorithm(alg)) throw new S3Error("InvalidRequest", `Unsupported checksum header ${name}`);
    if (!isWellFormedDigest(alg, value)) throw new S3Error("InvalidRequest", `Value for ${name} header is invalid`);
    found.push([alg, value]);
  }
  if (found.length > 1) throw new S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header");
  const trailer = headers.get("x-amz-trailer")?.trim().toLowerCase();
  if (trailer) {
    if (mode.kind !== "chunked" || !mode.trailer) {
      throw new S3Error("InvalidRequest", "x-amz-trailer requires a STREAMING-*-TRAILER x-amz-content-sha256");
    }
    const alg = trailer.slice("x-amz-checksum-".length);
    if (!trailer.startsWith("x-amz-checksum-") || !isChecksumAlgorithm(alg)) {
      throw new S3Error("InvalidRequest", `Unsupported trailer ${trailer}`);
    }
    if (found.length > 0) throw new S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header");
    return { alg, inTrailer: true };
  }
  if (found[0]) return { alg: found[0][0], value: found[0][1], inTrailer: false };
  const announced = (headers.get("x-amz-sdk-checksum-algorithm") ?? headers.get("x-amz-checksum-algorithm"))
    ?.toLowerCase();
  if (announced !== undefined) {
    if (!isChecksumAlgorithm(announced)) {
      throw new S3Error("InvalidRequest", `Unsupported checksum algorithm ${announced}`);
    }
    return { alg: announced, inTrailer: false };
  }
  return { inTrailer: false };
}

function contentMd5(headers: Headers): string | undefined {
  const v = headers.get("content-md5");
  if (v === null) return undefined;
  if (!isWellFormedDigest("md5", v.trim())) throw new S3Error("InvalidDigest");
  return v.trim();
}

/** Validate the payload headers and build the verified body stream (fails fast on bad headers). */
export function createPayload(req: Request, options: PayloadOptions): Payload {
  const headers = req.headers;
  const { mode } = options;
  const chunked = mode.kind === "chunked";
  const contentLength = headerInt(headers, "content-length");
  const declaredLength = chunked ? headerInt(headers, "x-amz-decoded-content-length") : contentLength;
  if (declaredLength !== undefined && declaredLength > options.maxBytes) {
    throw new S3Error("EntityTooLarge", undefined, {
      fields: {
        ProposedSize: String(declaredLength),
        MaxSizeAllowed: String(options.maxBytes),
      },
    });
  }
  const checksum = options.checksumHeadersDescribeBody === false
    ? { inTrailer: false }
    : expectedChecksum(headers, mode);
  const md5 = contentMd5(headers);
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  let failure: unknown;
  let bytesIn = 0;
  const trailers = new Map<string, string>();

  let stream: ReadableStream<Uint8Array> = (req.body ?? ReadableStream.from<Uint8Array>([])).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytesIn += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  if (chunked) {
    const signing = options.chunkSigning;
    let previous = signing?.seedSignature ?? "";
    stream = stream.pipeThrough(createAwsChunkedDecoder({
      signed: mode.signed,
      onChunk(signature, sha256Hex) {
        if (!signing) return;
        const expected = chunkSignature({ ...signing, previousSignature: previous }, sha256Hex);
        if (!signature || !signaturesEqual(expected, signature)) {
          throw new S3Error("SignatureDoesNotMatch", "The chunk signature does not match");
        }
        previous = expected;
      },
      onTrailers(list, signature) {
        for (const [n, v] of list) trailers.set(n, v);
        if (!signing || !mode.trailer) return;
        const expected = trailerSignature({ ...signing, previousSignature: previous }, list);
        if (!signature || !signaturesEqual(expected, signature)) {
          throw new S3Error("SignatureDoesNotMatch", "The trailer signature does not match");
        }
      },
    }));
  }

  const digests = new Map<DigestAlgorithm, ReturnType<typeof createDigest>>();
  if (mode.kind === "sha256") digests.set("sha256", createDigest("sha256"));
  if (md5) digests.set("md5", createDigest("md5"));
  if (checksum.alg) digests.set(checksum.alg, createDigest(checksum.alg));
  let size = 0;
  stream = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > options.maxBytes) throw new S3Error("EntityTooLarge");
        if (declaredLength !== undefined && size > declaredLength) {
          throw new S3Error("IncompleteBody", `The body is longer than the declared ${declaredLength} bytes`);
        }
        for (const d of digests.values()) d.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        if (declaredLength !== undefined && size !== declaredLength) {
          throw new S3Error("IncompleteBody", `The body has ${size} bytes; ${declaredLength} were declared`);
        }
        const results = new Map([...digests].map(([alg, d]) => [alg, d.digest()]));
        if (mode.kind === "sha256" && toHex(results.get("sha256")!) !== mode.hex) {
          throw new S3Error("XAmzContentSHA256Mismatch", undefined, {
            fields: { ClientComputedContentSHA256: mode.hex },
          });
        }
        if (md5 && toBase64(results.get("md5")!) !== md5) {
          throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received");
        }
        if (checksum.alg) {
          const actual = toBase64(results.get(checksum.alg)!);
          const expected = checksum.inTrailer ? trailers.get(`x-amz-checksum-${checksum.alg}`) : checksum.value;
          if (checksum.inTrailer && expected === undefined) {
            throw new S3Error(
              "IncompleteBody",
              `The trailer x-amz-checksum-${checksum.alg} was announced but not sent`,
            );
          }
          if (expected !== undefined && expected !== actual) {
            throw new S3Error(
              "BadDigest",
              `The ${checksum.alg.toUpperCase()} you specified did not match the calculated checksum`,
            );
          }
          checksums[checksum.alg] = actual;
        }
      },
    }),
  );
  const reader = stream.getReader();
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        failure ??= bodyError(err);
        controller.error(failure);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { stream: guarded, declaredLength, checksums, failure: () => failure, bytesIn: () => bytesIn };
}

/** The S3 error a failed body read stands for. */
function bodyError(err: unknown): unknown {
  if (err instanceof S3Error) return err;
  if (err instanceof SyntaxError) return new S3Error("InvalidRequest", err.message);
  return new S3Error("IncompleteBody", "The request body ended before it was complete");
}
