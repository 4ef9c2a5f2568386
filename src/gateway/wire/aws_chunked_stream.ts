/**
 * Push parser for `Content-Encoding: aws-chunked` bodies: strips the chunk framing, hands each chunk's declared
 * signature and SHA-256 to a verifier, and parses trailing headers. Data is passed on as it arrives (never a
 * whole chunk buffered); a verifier that throws fails the push, so a consumer that commits only on a clean end
 * keeps nothing.
 *
 * Framing: `hex-size[;chunk-signature=sig]\r\n<data>\r\n` … `0[;chunk-signature=sig]\r\n[trailer lines]\r\n`.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";

/** Longest chunk-header or trailer line accepted. */
export const MAX_LINE_BYTES = 4096;
/** Largest total trailer section accepted. */
export const MAX_TRAILER_BYTES = 16 * 1024;
/** Largest chunk size accepted (clients use 8 KiB–1 MiB; the limit bounds nothing in memory, only sanity). */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

export interface AwsChunkedOptions {
  /** Hash each chunk's data and call `onChunk` (signed STREAMING-AWS4-HMAC-SHA256-PAYLOAD* modes). */
  signed: boolean;
  /** Called at the end of each chunk, the final empty one included; throw to reject. */
  onChunk?(signature: string | undefined, sha256Hex: string): void;
  /** Called once with the trailing headers (lower-case names, `x-amz-trailer-signature` separated out). */
  onTrailers?(trailers: [string, string][], signature: string | undefined): void;
}

type State = "header" | "data" | "data-crlf" | "trailer" | "done";

const CR = 13;
const LF = 10;
const decoder = new TextDecoder();

/** Synchronous core of the decoder: `push` hands each data piece (a view into `bytes`) to `emit`. */
export interface AwsChunkedParser {
  push(bytes: Uint8Array, emit: (piece: Uint8Array) => void): void;
  /** Checks the body ended after the final chunk (and its trailers). */
  end(): void;
}

/** Create the parser. Malformed framing throws a `SyntaxError`. */
export function createAwsChunkedParser(options: AwsChunkedOptions): AwsChunkedParser {
  let state: State = "header";
  let line: number[] = [];
  let remaining = 0;
  let signature: string | undefined;
  let hash: Hash | undefined;
  let crlfSeen = 0;
  let trailerBytes = 0;
  const trailers: [string, string][] = [];
  let trailerSignature: string | undefined;

  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot decode aws-chunked body: ${why}`);
  };

  function endChunk(): void {
    if (options.signed) options.onChunk?.(signature, hash ? hash.digest("hex") : "");
    hash = undefined;
  }

  function parseHeader(text: string): void {
    const [sizePart = "", ...exts] = text.split(";");
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizePart)) fail(`bad chunk size "${sizePart.slice(0, 32)}"`);
    remaining = parseInt(sizePart, 16);
    if (remaining > MAX_CHUNK_BYTES) fail(`chunk of ${remaining} bytes exceeds ${MAX_CHUNK_BYTES}`);
    signature = undefined;
    for (const ext of exts) {
      const [name, value] = ext.split("=", 2);
      if (name?.trim() === "chunk-signature") signature = value?.trim();
    }
    if (options.signed && !signature) fail("chunk-signature missing");
    hash = options.signed ? createHash("sha256") : undefined;
    if (remaining === 0) {
      endChunk();
      state = "trailer";
    } else {
      state = "data";
    }
  }

  function parseTrailerLine(text: string): void {
    if (text === "") {
      options.onTrailers?.(trailers, trailerSignature);
      state = "done";
      return;
    }
    const colon = text.indexOf(":");
    if (colon <= 0) fail(`bad trailer line "${text.slice(0, 64)}"`);
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === "x-amz-trailer-signature") trailerSignature = value;
    else trailers.push([name, value]);
  }

  return {
    push(bytes, emit) {
      let i = 0;
      while (i < bytes.length) {
        switch (state) {
          case "header":
          case "trailer": {
            const b = bytes[i++]!;
            if (state === "trailer" && (trailerBytes += 1) > MAX_TRAILER_BYTES) fail("trailer section too large");
            if (b === LF) {
              if (line[line.length - 1] !== CR) fail("line not terminated by CRLF");
              const text = decoder.decode(new Uint8Array(line.slice(0, -1)));
              line = [];
              if (state === "header") parseHeader(text);
              else parseTrailerLine(text);
            } else {
              if (line.length >= MAX_LINE_BYTES) fail(`line longer than ${MAX_LINE_BYTES} bytes`);
              line.push(b);
            }
            break;
          }
          case "data": {
            const n = Math.min(remaining, bytes.length - i);
            const piece = bytes.subarray(i, i + n);
            hash?.update(piece);
            emit(piece);
            remaining -= n;
            i += n;
            if (remaining === 0) {
              state = "data-crlf";
              crlfSeen = 0;
            }
            break;
          }
          case "data-crlf": {
            const b = bytes[i++]!;
            if (b !== (crlfSeen === 0 ? CR : LF)) fail("chunk data not followed by CRLF");
            if (++crlfSeen === 2) {
              endChunk();
              state = "header";
            }
            break;
          }
          case "done": {
            const b = bytes[i++]!;
            if (b !== CR && b !== LF) fail("data after the final chunk");
            break;
          }
        }
      }
    },
    end() {
      // Some clients end after the last trailer line without the closing empty line.
      if (state === "trailer" && line.length === 0) {
        options.onTrailers?.(trailers, trailerSignature);
        state = "done";
      }
      if (state !== "done") fail("body ended before the final chunk");
    },
  };
}
