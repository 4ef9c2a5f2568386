/**
 * The payload of a small plain body (`createPayload` with a declared length of at most 64 KiB): read whole, then
 * checked in one pass of each hash.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { concatBytes } from "../bytes.ts";
import type { ChecksumAlgorithm } from "../storage/mod.ts";
import type { PayloadMode } from "./auth.ts";
import type { Payload } from "./payload.ts";
import type { IncomingRequest } from "./request_headers.ts";
import { S3Error } from "./s3_errors.ts";
import { digestBase64 } from "./wire/checksums.ts";

/** Plain bodies of at most this many declared bytes are read whole instead of streamed. */
export const WHOLE_BODY_BYTES = 64 * 1024;

interface WholeChecks {
  mode: PayloadMode;
  md5: string | undefined;
  checksum: { alg?: ChecksumAlgorithm; value?: string };
}

/**
 * A small plain body, read in one go and handed on as one chunk once every check has passed: no read buffers,
 * no incremental digests, one pass of each hash over the whole body.
 */
export function wholePayload(req: Pick<IncomingRequest, "body">, declaredLength: number, checks: WholeChecks): Payload {
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  let failure: unknown;
  let bytesIn = 0;
  /** A body being read whole is read to its end (or failure) by that read. */
  const release = async (reason: unknown) => {
    if (req.body && !req.body.locked) await req.body.cancel(reason).catch(() => {});
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const bytes = await readWhole(req.body, (n) => bytesIn += n);
        checkWhole(bytes, declaredLength, checks, checksums);
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      } catch (err) {
        failure ??= bodyError(err);
        controller.error(failure);
      }
    },
    cancel: release,
  }, { highWaterMark: 0 });
  const { alg } = checks.checksum;
  return {
    stream,
    declaredLength,
    checksums,
    failure: () => failure,
    bytesIn: () => bytesIn,
    release,
    ...(alg ? { checksumAlgorithm: alg } : {}),
  };
}

/** The checks of `createPayload`'s `verify` and `finish` for a body read whole; fills `checksums`. */
function checkWhole(
  bytes: Uint8Array,
  declaredLength: number,
  { mode, md5, checksum }: WholeChecks,
  checksums: Partial<Record<ChecksumAlgorithm, string>>,
): void {
  if (bytes.byteLength > declaredLength) {
    throw new S3Error("IncompleteBody", `The body is longer than the declared ${declaredLength} bytes`);
  }
  if (bytes.byteLength !== declaredLength) {
    throw new S3Error("IncompleteBody", `The body has ${bytes.byteLength} bytes; ${declaredLength} were declared`);
  }
  if (mode.kind === "sha256" && createHash("sha256").update(bytes).digest("hex") !== mode.hex) {
    throw new S3Error("XAmzContentSHA256Mismatch", undefined, {
      fields: { ClientComputedContentSHA256: mode.hex },
    });
  }
  if (md5 && digestBase64("md5", bytes) !== md5) {
    throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received");
  }
  if (checksum.alg) {
    const actual = digestBase64(checksum.alg, bytes);
    if (checksum.value !== undefined && checksum.value !== actual) {
      throw new S3Error(
        "BadDigest",
        `The ${checksum.alg.toUpperCase()} you specified did not match the calculated checksum`,
      );
    }
    checksums[checksum.alg] = actual;
  }
}

/** A small body whole; `onBytes` counts raw bytes as they arrive (a body cut short still reports them). */
async function readWhole(
  body: ReadableStream<Uint8Array> | null,
  onBytes: (n: number) => void,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    onBytes(value.byteLength);
    // Longer than any whole-read body may be: the length check reports it, no need to hold more.
    if (total > WHOLE_BODY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}

/** The S3 error a failed body read stands for. */
export function bodyError(err: unknown): unknown {
  if (err instanceof S3Error) return err;
  if (err instanceof SyntaxError) return new S3Error("InvalidRequest", err.message);
  return new S3Error("IncompleteBody", "The request body ended before it was complete");
}
