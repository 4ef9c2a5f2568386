/** Text key=value pairs (RFC 7143 §6): NUL-terminated UTF-8 "key=value" strings in a data segment. */

const MAX_KEY = 63;
const MAX_VALUE = 8192;

/** Decode a text data segment into ordered pairs. Throws SyntaxError on a pair without "=" or an invalid key. */
export function decodeTextKeys(data: Uint8Array): [string, string][] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    throw new SyntaxError("Cannot parse text keys: data segment is not UTF-8");
  }
  const out: [string, string][] = [];
  for (const item of text.split("\0")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) throw new SyntaxError(`Cannot parse text key: "${item.slice(0, 64)}" has no "="`);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key.length > MAX_KEY || !/^[A-Za-z0-9.\-+@_]+$/.test(key)) {
      throw new SyntaxError(`Cannot parse text key: invalid key "${key.slice(0, 64)}"`);
    }
    if (value.length > MAX_VALUE) throw new RangeError(`Cannot parse text key "${key}": value too long`);
    out.push([key, value]);
  }
  return out;
}

/** Encode pairs as NUL-terminated key=value strings. */
export function encodeTextKeys(pairs: Iterable<readonly [string, string]>): Uint8Array {
  let text = "";
  for (const [k, v] of pairs) text += `${k}=${v}\0`;
  return new TextEncoder().encode(text);
}
