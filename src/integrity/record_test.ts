import assert from "node:assert/strict";
import type { OperationEvent } from "../events/mod.ts";
import { bodiesFromEvent, shouldJournal } from "./record.ts";
import { canonicalJson, decodeRecord, encodeRecord, GENESIS_PREV } from "./record_codec.ts";

const event: OperationEvent = {
  actor: "AKIA",
  op: "PutObject",
  bucket: "b",
  key: 'dir/ä\n"quoted"\u0001',
  size: 3,
  etag: '"abc"',
  checksums: {},
  status: 200,
  requestId: "r1",
  clientAddress: "10.0.0.1",
  time: new Date("2026-01-01T00:00:00Z"),
  durationMs: 1.5,
  bytesIn: 3,
  bytesOut: 0,
};

Deno.test("canonical encoding: sorted keys, no whitespace, JSON escapes, absent fields omitted", () => {
  const text = encodeRecord({ ...bodiesFromEvent(event)[0]!, v: 1, seq: 0, prev: GENESIS_PREV });
  assert.equal(
    text,
    '{"actor":"AKIA","bucket":"b","clientAddress":"10.0.0.1","etag":"\\"abc\\"","key":"dir/ä\\n\\"quoted\\"\\u0001",' +
      `"op":"PutObject","prev":"${GENESIS_PREV}","requestId":"r1","seq":0,"size":3,"status":200,` +
      '"time":"2026-01-01T00:00:00.000Z","v":1}',
  );
  assert.ok(!text.includes("\n"), "one record is one line");
  assert.equal(decodeRecord(text).key, event.key);
  assert.equal(canonicalJson({ z: { b: "1", a: 2 }, a: true }), '{"a":true,"z":{"a":2,"b":"1"}}');
});

Deno.test("canonical encoding rejects values outside the subset; decoding rejects malformed records", () => {
  assert.throws(() => canonicalJson(1.5), TypeError);
  assert.throws(() => canonicalJson(2 ** 60), TypeError);
  assert.throws(() => canonicalJson({ a: null as unknown as string }), TypeError);
  assert.throws(() => canonicalJson({ a: [] as unknown as string }), TypeError);
  assert.throws(() => decodeRecord("{"), SyntaxError);
  assert.throws(() => decodeRecord('{"v":1,"seq":"0","prev":"x"}'), TypeError);
  assert.throws(() => decodeRecord("null"), TypeError);
});

Deno.test("events to records: copies keep their source, DeleteObjects gives one record per key, empty checksums vanish, reads only when asked", () => {
  const [copy] = bodiesFromEvent({
    ...event,
    op: "CopyObject",
    source: { bucket: "s", key: "k" },
    checksums: { crc32: "AAAA" },
  });
  assert.deepEqual(copy!.source, { bucket: "s", key: "k" });
  assert.deepEqual(copy!.checksums, { crc32: "AAAA" });
  assert.equal(bodiesFromEvent(event)[0]!.checksums, undefined);
  const multi = bodiesFromEvent({ ...event, op: "DeleteObjects", key: undefined, deletedKeys: ["x", "y"] });
  assert.deepEqual(multi.map((b) => [b.op, b.key, b.requestId]), [["DeleteObjects", "x", "r1"], [
    "DeleteObjects",
    "y",
    "r1",
  ]]);
  assert.equal(bodiesFromEvent({ ...event, op: "DeleteObjects", key: undefined, deletedKeys: [] }).length, 1);
  assert.equal(shouldJournal({ ...event, op: "GetObject" }, false), false);
  assert.equal(shouldJournal({ ...event, op: "GetObject" }, true), true);
  assert.equal(shouldJournal({ ...event, op: "HeadObject", status: 404, errorCode: "NoSuchKey" }, false), true);
  assert.equal(shouldJournal({ ...event, op: "ListObjectsV2", status: 403, errorCode: "AccessDenied" }, false), true);
  assert.equal(shouldJournal({ ...event, op: "DeleteObject", status: 204 }, false), true);
  assert.equal(shouldJournal({ ...event, op: "UploadPart" }, false), true);
});

Deno.test("the record fast path equals the generic canonical encoding, also with nested and unknown fields", () => {
  const base = { ...bodiesFromEvent(event)[0]!, v: 1 as const, seq: 7, prev: GENESIS_PREV };
  const variants = [
    base,
    { ...base, checksums: { sha256: "x", crc32: "y" }, source: { key: "k", bucket: "b" }, detail: { b: 1, a: "2" } },
    { ...base, futureField: "kept in order" } as typeof base,
    { ...base, detail: { "10": 1, "9": 2, "x": "\u2028é" }, key: "\ud800 lone surrogate" },
    { ...base, detail: { z: "", a: 0 }, size: 0, status: undefined, etag: "" },
    { ...base, source: { bucket: "b", key: "k" }, checksums: {} },
  ];
  for (const r of variants) {
    assert.equal(encodeRecord(r), canonicalJson(r as unknown as Parameters<typeof canonicalJson>[0]));
  }
  assert.throws(() => encodeRecord({ ...base, size: 1.5 }), TypeError);
  assert.throws(() => encodeRecord({ ...base, size: 2 ** 60 }), TypeError);
  assert.throws(() => encodeRecord({ ...base, detail: { a: null as unknown as string } }), TypeError);
  assert.throws(() => encodeRecord({ ...base, detail: { a: [] as unknown as string } }), TypeError);
});
