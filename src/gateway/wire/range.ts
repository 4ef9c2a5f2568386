/**
 * HTTP `Range` header parsing as S3 applies it: one `bytes=` range (`a-b`, `a-`, `-n`); anything else is ignored
 * (the whole object is served), and a syntactically valid range that starts past the end is unsatisfiable.
 *
 * @module
 */
import type { ByteRange } from "../../storage/mod.ts";

/** A resolved range, `"unsatisfiable"` (416), or `undefined` when the header is absent or ignored. */
export type RangeResult = ByteRange | "unsatisfiable" | undefined;

const SINGLE = /^bytes=(\d*)-(\d*)$/;

/** Resolve `header` against an object of `size` bytes. */
export function parseRange(header: string | null, size: number): RangeResult {
  if (header === null) return undefined;
  const m = SINGLE.exec(header.trim());
  if (!m) return undefined;
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return undefined;
  if (a === "") {
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === "" ? Infinity : Number(b);
  if (end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

/** `Content-Range` value for a served range. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
