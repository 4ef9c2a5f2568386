/** Testing the reader of an S3 request document: parse an inner text, or assert the S3 error it raises. @module */
import assert from "node:assert/strict";
import { S3Error } from "../s3_errors.ts";
import { parseXml, type XmlElement } from "../wire/xml.ts";

export function xmlDocument<T>(root: string, read: (el: XmlElement) => T) {
  const parse = (inner: string): T =>
    read(parseXml(`<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`));
  /** Asserts that reading `inner` throws an `S3Error` with `code` and a message matching `message`. */
  const refused = (inner: string, code: string, message: RegExp): void => {
    assert.throws(() => parse(inner), (err: unknown) => {
      assert.ok(err instanceof S3Error, String(err));
      assert.equal(err.s3Code, code, err.message);
      assert.match(err.message, message);
      return true;
    });
  };
  return { parse, refused };
}
