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
import type { HeaderReader, IncomingRequest } from "./request_headers.ts";
import { type AwsChunkedParser, createAwsChunkedParser } from "./wire/aws_chunked_stream.ts";
import {
  createDigest,
  type DigestAlgorithm,
  isChecksumAlgorithm,
  isWellFormedDigest,
  namedChecksumAlgorithm,
} from "./wire/checksums.ts";
import { chunkSignature, signaturesEqual, trailerSignature } from "./wire/sigv4.ts";
import { bodyError, WHOLE_BODY_BYTES, wholePayload } from "./_payload_whole.ts";

export interface Payload {
  /** Decoded, verified bytes. */
  stream: ReadableStream<Uint8Array>;
  /** Declared decoded length (Content-Length or x-amz-decoded-content-length), when known. */
  declaredLength: number | undefined;
  /** Checksums verified so far; complete once `stream` has ended. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** The algorithm whose value `checksums` holds once `stream` has ended (sent as a header or trailer, or announced). */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** The first verification failure, if any (stores may wrap stream errors; this is the one to report). */
  failure(): unknown;
  /** Raw bytes received on the wire. */
  bytesIn(): number;
  /**
   * Lets go of what is left of the request body, for the HTTP server to discard: a client that sends its whole body
   * before it reads the answer (after `100 Continue`) gets an answer given before the body was read. Held instead,
   * the body is never read and the client waits until it gives up.
   */
  release(reason: unknown): Promise<void>;
  /**
   * The Content-MD5 (hex) that this payload left to the store (`md5CheckedByStore`); the caller passes it as
   * `expectedMd5Hex`. Undefined when there is none or the payload checks it itself.
   */
  storeMd5Hex?: string;
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
  /**
   * The caller hands the body to a store that computes its MD5 anyway (for the ETag): a streamed body's
   * Content-MD5 is then left to the store (`Payload.storeMd5Hex`) instead of being hashed twice.
   */
  md5CheckedByStore?: boolean;
}

function headerInt(headers: HeaderReader, name: string): number | undefined {
  const v = headers.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,16}$/.test(v.trim())) throw new S3Error("InvalidArgument", `${name} must be a non-negative integer`);
  return Number(v);
}

/** Which checksum the client announced and, when sent as a header, its expected value. */
function expectedChecksum(
  headers: HeaderReader,
  mode: PayloadMode,
): { alg?: ChecksumAlgorithm; value?: string; inTrailer: boolean } {
  const found: [ChecksumAlgorithm, string][] = [];
  headers.forEach((value, name) => {
    if (!name.startsWith("x-amz-checksum-") || name === "x-amz-checksum-mode" || name === "x-amz-checksum-type") {
      return;
    }
    const alg = name.slice("x-amz-checksum-".length);
    if (alg === "algorithm") return;
    if (!isChecksumAlgorithm(alg)) throw new S3Error("InvalidRequest", `Unsupported checksum header ${name}`);
    if (!isWellFormedDigest(alg, value)) throw new S3Error("InvalidRequest", `Value for ${name} header is invalid`);
    found.push([alg, value]);
  });
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
  const announced = headers.get("x-amz-sdk-checksum-algorithm") ?? headers.get("x-amz-checksum-algorithm");
  if (announced !== null) return { alg: namedChecksumAlgorithm(announced), inTrailer: false };
  return { inTrailer: false };
}

function contentMd5(headers: HeaderReader): string | undefined {
  const v = headers.get("content-md5");
  if (v === null) return undefined;
  if (!isWellFormedDigest("md5", v.trim())) throw new S3Error("InvalidDigest");
  return v.trim();
}

/**
 * Validate the payload headers and build the verified body stream (fails fast on bad headers). `headers` are the
 * request's, read once (`readHeaders`) where the caller has them.
 */
export function createPayload(
  req: Pick<IncomingRequest, "body" | "headers">,
  options: PayloadOptions,
  headers: HeaderReader = req.headers,
): Payload {
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
  if (!chunked && declaredLength !== undefined && declaredLength <= WHOLE_BODY_BYTES) {
    return wholePayload(req, declaredLength, { mode, md5, checksum });
  }
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  let failure: unknown;
  let bytesIn = 0;
  const trailers = new Map<string, string>();

  let parser: AwsChunkedParser | undefined;
  if (chunked) {
    const signing = options.chunkSigning;
    let previous = signing?.seedSignature ?? "";
    parser = createAwsChunkedParser({
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
    });
  }

  const digests = new Map<DigestAlgorithm, ReturnType<typeof createDigest>>();
  if (mode.kind === "sha256") digests.set("sha256", createDigest("sha256"));
  // A streamed body's Content-MD5 can be left to the store (a small one is read whole and checked here).
  const storeMd5Hex = md5 && options.md5CheckedByStore ? base64ToHex(md5) : undefined;
  if (md5 && !storeMd5Hex) digests.set("md5", createDigest("md5"));
  if (checksum.alg) digests.set(checksum.alg, createDigest(checksum.alg));
  let size = 0;
  function verify(chunk: Uint8Array): void {
    size += chunk.byteLength;
    if (size > options.maxBytes) throw new S3Error("EntityTooLarge");
    if (declaredLength !== undefined && size > declaredLength) {
      throw new S3Error("IncompleteBody", `The body is longer than the declared ${declaredLength} bytes`);
    }
    for (const d of digests.values()) d.update(chunk);
  }
  function finish(): void {
    parser?.end();
    if (declaredLength !== undefined && size !== declaredLength) {
      throw new S3Error("IncompleteBody", `The body has ${size} bytes; ${declaredLength} were declared`);
    }
    const results = new Map([...digests].map(([alg, d]) => [alg, d.digest()]));
    if (mode.kind === "sha256" && results.get("sha256")!.toHex() !== mode.hex) {
      throw new S3Error("XAmzContentSHA256Mismatch", undefined, {
        fields: { ClientComputedContentSHA256: mode.hex },
      });
    }
    if (md5 && !storeMd5Hex && results.get("md5")!.toBase64() !== md5) {
      throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received");
    }
    if (checksum.alg) {
      const actual = results.get(checksum.alg)!.toBase64();
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
  }

  const raw = createRawReader(req.body);
  /**
   * Reads raw bytes into `view` and decodes them in place (decoded bytes never overtake the raw bytes they come
   * from); returns the memory of `view` (the read may have transferred it) and the decoded length, 0 at the end.
   */
  async function decodeInto(view: Uint8Array<ArrayBuffer>): Promise<{ view: Uint8Array<ArrayBuffer>; length: number }> {
    let length = 0;
    while (length === 0) {
      const { byteOffset, byteLength } = view; // 0 once the read has detached `view`
      const { done, bytes: src } = await raw.readInto(view);
      view = new Uint8Array(src.buffer, byteOffset, byteLength);
      if (done) return { view, length: 0 };
      bytesIn += src.byteLength;
      if (!parser) {
        verify(src);
        return { view, length: src.byteLength };
      }
      parser.push(src, (piece) => {
        verify(piece);
        view.copyWithin(
          length,
          piece.byteOffset - view.byteOffset,
          piece.byteOffset - view.byteOffset + piece.byteLength,
        );
        length += piece.byteLength;
      });
    }
    return { view, length };
  }
  // A byte stream: the body is read straight into the consumer's buffer (BYOB: the fs store reads 1 MiB blocks,
  // which one read of the request mostly fills), or into one chunk per read for a default reader. Allocating a
  // fresh chunk per read for the fs store instead leaves garbage that V8 frees late — about 100 MiB of RSS with
  // ten parallel 8 MiB part uploads.
  const guarded = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: RAW_READ_BYTES,
    async pull(controller) {
      try {
        const request = controller.byobRequest!;
        const asked = request.view as Uint8Array<ArrayBuffer>;
        const { view, length } = await decodeInto(
          new Uint8Array(asked.buffer, asked.byteOffset, asked.byteLength),
        );
        if (length === 0) {
          finish();
          controller.close();
          request.respondWithNewView(view.subarray(0, 0));
          return;
        }
        request.respondWithNewView(view.subarray(0, length));
      } catch (err) {
        failure ??= bodyError(err);
        controller.error(failure);
        await raw.cancel(failure);
      }
    },
    cancel(reason) {
      return raw.cancel(reason);
    },
  });
  return {
    stream: guarded,
    declaredLength,
    checksums,
    failure: () => failure,
    bytesIn: () => bytesIn,
    release: (reason) => raw.cancel(reason),
    ...(storeMd5Hex ? { storeMd5Hex } : {}),
    ...(checksum.alg ? { checksumAlgorithm: checksum.alg } : {}),
  };
}

function base64ToHex(b64: string): string {
  return Uint8Array.fromBase64(b64).toHex();
}

/** Bytes per read for a consumer that does not bring its own buffer (a default reader). */
const RAW_READ_BYTES = 64 * 1024;

/**
 * Reads the request body into the caller's buffer: BYOB where the body supports it (the memory is transferred and
 * comes back as a new ArrayBuffer), otherwise by copying the source's chunks.
 */
function createRawReader(body: ReadableStream<Uint8Array> | null) {
  let byob: ReadableStreamBYOBReader | undefined;
  let plain: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    byob = body?.getReader({ mode: "byob" });
  } catch {
    plain = body?.getReader();
  }
  let rest: Uint8Array = new Uint8Array(0);
  return {
    /** Reads into `view`; `bytes` are the bytes read, a view of `view`'s memory (empty at the end of the body). */
    async readInto(view: Uint8Array<ArrayBuffer>): Promise<{ done: boolean; bytes: Uint8Array<ArrayBuffer> }> {
      if (byob) {
        const { done, value } = await byob.read(view);
        return { done, bytes: (value ?? view.subarray(0, 0)) as Uint8Array<ArrayBuffer> };
      }
      while (rest.byteLength === 0) {
        const next = await plain?.read();
        if (!next || next.done) return { done: true, bytes: view.subarray(0, 0) };
        rest = next.value;
      }
      const n = Math.min(rest.byteLength, view.byteLength);
      view.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return { done: false, bytes: view.subarray(0, n) };
    },
    async cancel(reason: unknown): Promise<void> {
      await (byob ?? plain)?.cancel(reason).catch(() => {});
    },
  };
}
