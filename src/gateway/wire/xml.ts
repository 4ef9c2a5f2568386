/**
 * Minimal XML for S3: a builder for responses and a strict parser for the few request bodies S3 has
 * (CompleteMultipartUpload, Delete, CreateBucketConfiguration). No DTDs, no external entities.
 *
 * @module
 */

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** A child value: text, a nested element (object), or repeated elements (array). `undefined` is skipped. */
export type XmlValue = string | number | boolean | Date | undefined | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  // As S3 writes them: a parser would read a raw carriage return as a line feed (XML's end-of-line handling).
  "\r": "&#13;",
  "\n": "&#10;",
};

/**
 * Text as XML character data. The control characters XML 1.0 cannot hold (C0 but tab, line feed and carriage return)
 * and U+FFFE/U+FFFF, which S3 allows in keys, are written as S3 writes them: as character references (`&#x1;`).
 * Strict parsers refuse those as they would the raw character (S3's answer is `encoding-type=url`); lenient ones,
 * such as the JavaScript SDK's and .NET's, read the key back whole.
 */
export function escapeXml(s: string): string {
  return s.replace(
    // deno-lint-ignore no-control-regex
    /[&<>"'\r\n\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g,
    (c) => ESCAPES[c] ?? `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`,
  );
}

function render(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    for (const v of value) render(name, v, out);
    return;
  }
  if (value instanceof Date) {
    out.push(`<${name}>${value.toISOString()}</${name}>`);
  } else if (typeof value === "object") {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) render(k, v, out);
    out.push(`</${name}>`);
  } else {
    out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
  }
}

/** Render a document with the S3 namespace on the root element (or none with `namespace: false`). */
export function buildXml(root: string, body: XmlNode, options: { namespace?: boolean } = {}): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  out.push(options.namespace === false ? `<${root}>` : `<${root} xmlns="${S3_NS}">`);
  for (const [k, v] of Object.entries(body)) render(k, v, out);
  out.push(`</${root}>`);
  return out.join("");
}

/** A parsed element: local name (namespace prefix dropped), children and concatenated text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/**
 * The character a numeric reference names. NUL, surrogates and numbers beyond Unicode name none; other control
 * characters are taken (XML 1.0 has no references to them, but object keys may hold them and clients write them so).
 */
function character(reference: string, codePoint: number): string {
  if (codePoint === 0 || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) {
    throw new SyntaxError(`Cannot parse XML: ${reference} is not a character`);
  }
  return String.fromCodePoint(codePoint);
}

/** Decodes the five XML entities and numeric character references; an unknown entity is a SyntaxError. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#")) {
      return character(m, e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new SyntaxError(`Cannot parse XML: unknown entity "${m}"`);
    return v;
  });
}

const MAX_DEPTH = 16;

/** Parse a document into its root element. Throws `SyntaxError` on anything malformed. */
export function parseXml(source: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot parse XML at offset ${i}: ${why}`);
  };
  while (i < source.length) {
    const lt = source.indexOf("<", i);
    const text = source.slice(i, lt === -1 ? source.length : lt);
    if (stack.length > 0) stack[stack.length - 1]!.text += decodeEntities(text);
    else if (text.trim() !== "") fail("text outside the root element");
    if (lt === -1) break;
    i = lt;
    if (source.startsWith("<?", i)) {
      const end = source.indexOf("?>", i);
      if (end === -1) fail("unterminated processing instruction");
      i = end + 2;
    } else if (source.startsWith("<!--", i)) {
      const end = source.indexOf("-->", i);
      if (end === -1) fail("unterminated comment");
      i = end + 3;
    } else if (source.startsWith("<![CDATA[", i)) {
      const end = source.indexOf("]]>", i);
      if (end === -1 || stack.length === 0) fail("bad CDATA section");
      stack[stack.length - 1]!.text += source.slice(i + 9, end);
      i = end + 3;
    } else if (source.startsWith("<!", i)) {
      fail("DTDs are not allowed");
    } else if (source.startsWith("</", i)) {
      const end = source.indexOf(">", i);
      if (end === -1) fail("unterminated end tag");
      const name = localName(source.slice(i + 2, end).trim());
      const open = stack.pop();
      if (!open || open.name !== name) fail(`unexpected end tag "${name}"`);
      i = end + 1;
    } else {
      const end = source.indexOf(">", i);
      if (end === -1) fail("unterminated start tag");
      const selfClosing = source[end - 1] === "/";
      const inner = source.slice(i + 1, selfClosing ? end - 1 : end).trim();
      const rawName = inner.split(/\s/, 1)[0] ?? "";
      if (!/^[A-Za-z_][\w.:-]*$/.test(rawName)) fail(`bad element name "${rawName}"`);
      const el: XmlElement = { name: localName(rawName), children: [], text: "" };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
      else if (root) fail("more than one root element");
      else root = el;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) fail("nesting too deep");
        stack.push(el);
      }
      i = end + 1;
    }
  }
  if (stack.length > 0) fail(`unclosed element "${stack[stack.length - 1]!.name}"`);
  if (!root) fail("no root element");
  return root!;
}

function localName(name: string): string {
  const colon = name.indexOf(":");
  return colon === -1 ? name : name.slice(colon + 1);
}

/** Children of `el` named `name`. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Text of the first child named `name`, or undefined. */
export function childText(el: XmlElement, name: string): string | undefined {
  return el.children.find((c) => c.name === name)?.text;
}
