/**
 * Streaming `multipart/form-data` (RFC 7578) for S3's browser-based uploads: the text fields before the `file` field
 * are read into memory (bounded), the file's content is handed on as a stream while it arrives, and whatever follows
 * the file is ignored, as S3 does.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { S3Error } from "../s3_errors.ts";

/** Most bytes of all fields before the file (names, values and part headers). */
export const MAX_FIELD_BYTES = 64 * 1024;

export interface FormUpload {
  /** Fields before the file, by lower-case name (S3 field names are case-insensitive). */
  fields: Map<string, string>;
  /** The file part's `filename`, when it has one. */
  filename: string | undefined;
  /** The file's bytes; errors with MalformedPOSTRequest if the body ends before the file's closing boundary. */
  file: ReadableStream<Uint8Array>;
}

function malformed(why: string): S3Error {
  return new S3Error(
    "MalformedPOSTRequest",
    `The body of your POST request is not well-formed multipart/form-data: ${why}`,
  );
}

/** The boundary of a `multipart/form-data` Content-Type, or undefined for any other type. */
export function formBoundary(contentType: string | null): string | undefined {
  if (contentType === null || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** A reader over a byte stream that can read up to a delimiter. */
class DelimitedReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffered: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const { done, value } = await this.#reader.read();
    if (done) {
      this.#done = true;
      return false;
    }
    this.#buffered = this.#buffered.length === 0
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      : Buffer.concat([this.#buffered, value]);
    return true;
  }

  /** The bytes before `delimiter` (consumed with it), at most `limit` of them; undefined at the end of the body. */
  async readUntil(delimiter: Uint8Array, limit: number): Promise<Uint8Array | undefined> {
    for (;;) {
      const at = this.#buffered.indexOf(delimiter);
      if (at !== -1) {
        if (at > limit) throw malformed("a field is too large");
        const head = this.#buffered.subarray(0, at);
        this.#buffered = this.#buffered.subarray(at + delimiter.length);
        return new Uint8Array(head);
      }
      if (this.#buffered.length > limit + delimiter.length) throw malformed("a field is too large");
      if (!await this.#fill()) return undefined;
    }
  }

  /**
   * Yields the bytes before `delimiter` as they arrive, keeping back only what could be the start of the
   * delimiter; consumes the delimiter. Fails if the body ends first.
   */
  async *streamUntil(delimiter: Uint8Array): AsyncGenerator<Uint8Array> {
    for (;;) {
      const at = this.#buffered.indexOf(delimiter);
      if (at !== -1) {
        if (at > 0) yield new Uint8Array(this.#buffered.subarray(0, at));
        this.#buffered = this.#buffered.subarray(at + delimiter.length);
        return;
      }
      const safe = this.#buffered.length - (delimiter.length - 1);
      if (safe > 0) {
        yield new Uint8Array(this.#buffered.subarray(0, safe));
        this.#buffered = this.#buffered.subarray(safe);
      }
      if (!await this.#fill()) throw malformed("the body ended inside the file");
    }
  }

  async cancel(reason?: unknown): Promise<void> {
    await this.#reader.cancel(reason);
  }
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const HEADERS_END = encoder.encode("\r\n\r\n");

/** `name` and `filename` of a part's Content-Disposition. */
function disposition(headers: string): { name: string; filename?: string } {
  const line = headers.split("\r\n").find((l) => /^content-disposition\s*:/i.test(l));
  if (!line || !/:\s*form-data\s*(;|$)/i.test(line)) throw malformed("a part has no form-data Content-Disposition");
  const param = (key: string) => new RegExp(`;\\s*${key}="([^"]*)"`, "i").exec(line)?.[1];
  const name = param("name");
  if (name === undefined) throw malformed("a part has no name");
  const filename = param("filename");
  return filename === undefined ? { name } : { name, filename };
}

/** Reads the fields up to the `file` field of `body`; the file itself streams. */
export async function readFormUpload(body: ReadableStream<Uint8Array>, boundary: string): Promise<FormUpload> {
  const reader = new DelimitedReader(body);
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  const fields = new Map<string, string>();
  let budget = MAX_FIELD_BYTES;
  try {
    // The preamble ends at the first boundary line (the body may start with it, without the CRLF before it).
    const first = encoder.encode(`--${boundary}`);
    const preamble = await reader.readUntil(first, MAX_FIELD_BYTES);
    if (preamble === undefined) throw malformed("no boundary");
    for (;;) {
      // "" ends a boundary line; "--" (with or without a CRLF) the closing one, or the body ends: no file came.
      const rest = await reader.readUntil(CRLF, 2);
      if (rest === undefined || decoder.decode(rest) === "--") {
        throw new S3Error("IncorrectNumberOfFilesInPostRequest", "POST requires exactly one file upload per request");
      }
      if (rest.byteLength > 0) throw malformed("a boundary line is followed by other text");
      const rawHeaders = await reader.readUntil(HEADERS_END, budget);
      if (rawHeaders === undefined) throw malformed("a part's headers are cut off");
      budget -= rawHeaders.byteLength;
      const { name, filename } = disposition(decoder.decode(rawHeaders));
      if (name.toLowerCase() === "file") {
        const chunks = reader.streamUntil(delimiter);
        const file = new ReadableStream<Uint8Array>({
          async pull(controller) {
            try {
              const { done, value } = await chunks.next();
              if (done) controller.close();
              else controller.enqueue(value);
            } catch (err) {
              controller.error(err);
            }
          },
          async cancel(reason) {
            await reader.cancel(reason);
          },
        });
        return { fields, filename, file };
      }
      const value = await reader.readUntil(delimiter, budget);
      if (value === undefined) throw malformed("a field is cut off");
      budget -= value.byteLength;
      fields.set(name.toLowerCase(), decoder.decode(value));
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  }
}
