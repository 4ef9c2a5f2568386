/**
 * Request-body plumbing for the s3 backend.
 *
 * `verifiedBody` forwards a body while enforcing the caller's expectations (length, MD5, abort) and always holds
 * back the newest chunk until the next one arrives, so the upstream never receives a complete body unless every
 * check passed: a short, long, corrupted, failed or aborted body makes the request fail and nothing is stored.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { AppError } from "../errors.ts";
import type { PutOptions } from "./mod.ts";

export type BodyExpectations = Pick<PutOptions, "expectedMd5Hex" | "contentLength" | "signal">;

export function verifiedBody(
  body: ReadableStream<Uint8Array>,
  expect: BodyExpectations,
  onEnd?: (size: number, md5Hex: string) => void,
): ReadableStream<Uint8Array> {
  const hash = createHash("md5");
  const reader = body.getReader();
  let held: Uint8Array | undefined;
  let size = 0;
  const fail = (err: unknown) => reader.cancel(err).catch(() => {}).then(() => Promise.reject(err));
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (expect.signal?.aborted) return fail(expect.signal.reason);
        const { done, value } = await reader.read();
        if (done) {
          if (expect.contentLength !== undefined && size !== expect.contentLength) {
            return fail(
              new AppError("IncompleteBody", `Body has ${size} bytes, ${expect.contentLength} were declared`),
            );
          }
          const md5Hex = hash.digest("hex");
          if (expect.expectedMd5Hex !== undefined && expect.expectedMd5Hex.toLowerCase() !== md5Hex) {
            return fail(new AppError("BadDigest", "The body's MD5 does not match the expected digest"));
          }
          onEnd?.(size, md5Hex);
          if (held) controller.enqueue(held);
          return controller.close();
        }
        size += value.byteLength;
        if (expect.contentLength !== undefined && size > expect.contentLength) {
          return fail(new AppError("IncompleteBody", `Body is longer than the declared ${expect.contentLength} bytes`));
        }
        hash.update(value);
        const previous = held;
        held = value;
        if (previous) return controller.enqueue(previous);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Reads a body of known, small `size` into one buffer (for requests sent whole). */
export async function collectBody(body: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of body) {
    out.set(chunk, filled);
    filled += chunk.byteLength;
  }
  return out;
}

export function md5Base64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

/**
 * Writes a body of unknown length to a private temp file (UploadPart needs a Content-Length), returning its
 * path and size. The caller removes the file.
 */
export async function spool(
  body: ReadableStream<Uint8Array>,
  expect: BodyExpectations,
): Promise<{ path: string; size: number }> {
  const path = await Deno.makeTempFile({ prefix: "s3-part-" });
  try {
    const file = await Deno.open(path, { write: true, truncate: true });
    let size = 0;
    try {
      for await (const chunk of verifiedBody(body, expect)) {
        for (let o = 0; o < chunk.byteLength;) o += await file.write(chunk.subarray(o));
        size += chunk.byteLength;
      }
    } finally {
      file.close();
    }
    return { path, size };
  } catch (err) {
    await Deno.remove(path).catch(() => {});
    throw err;
  }
}

/**
 * Runs an SDK request whose body is `body`. A body failure (our checks, the client's stream, or `signal`)
 * aborts the request and is what the caller sees, instead of an unhandled stream error or a hung socket.
 */
export async function sendStreaming<T>(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  send: (nodeBody: Readable, abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let bodyError: unknown;
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const nodeBody = Readable.fromWeb(body as never);
  nodeBody.on("error", (err) => {
    bodyError ??= err;
    controller.abort(err);
  });
  try {
    return await send(nodeBody, controller.signal);
  } catch (err) {
    if (bodyError !== undefined) throw bodyError;
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    nodeBody.destroy();
  }
}
