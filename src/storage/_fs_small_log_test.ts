import assert from "node:assert/strict";
import {
  encodeHeader,
  encodeRecord,
  LOG_FILE,
  type LogRecord,
  readCheckpoint,
  recordLength,
  RECORDS_START,
  replaySmallLog,
  scanRecords,
  slotOffset,
} from "./_fs_small_log.ts";
import { bytes } from "./_testing/contract_helpers.ts";

const encoder = new TextEncoder();

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "fs-small-log-" });
  try {
    await Deno.mkdir(`${root}/tmp`);
    await Deno.mkdir(`${root}/objects`);
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

interface Entry {
  seq: number;
  path: string;
  file: Uint8Array;
}

/** The bytes of `records` laid out one after another, and where each one starts. */
function encodeAll(records: Entry[]): { bytes: Uint8Array; starts: number[] } {
  const coded = records.map((r) => ({ seq: r.seq, path: encoder.encode(r.path), file: r.file }));
  const out = new Uint8Array(coded.reduce((n, r) => n + recordLength(r.path, r.file), 0));
  const starts: number[] = [];
  let at = 0;
  for (const r of coded) {
    starts.push(at);
    at = encodeRecord(out, at, r);
  }
  return { bytes: out, starts };
}

/** A log file image of `size` bytes: header slots (seq, or undefined for an empty slot) and records at 4096. */
function logImage(slots: (number | undefined)[], records: Uint8Array, size = 64 * 1024): Uint8Array {
  const image = new Uint8Array(size);
  slots.forEach((seq, slot) => seq !== undefined && image.set(encodeHeader(seq), slotOffset(slot)));
  image.set(records, RECORDS_START);
  return image;
}

const readerOf = (image: Uint8Array) => (position: number, length: number) =>
  image.subarray(position, Math.min(image.byteLength, position + length));

function scan(image: Uint8Array): { checkpoint: number; records: LogRecord[]; last: number } {
  const checkpoint = readCheckpoint(readerOf(image)).seq;
  const records: LogRecord[] = [];
  const last = scanRecords(readerOf(image), image.byteLength, checkpoint, (r) => records.push(r));
  return { checkpoint, records, last };
}

const entry = (seq: number, name: string, size = 100) => ({
  seq,
  path: `objects/${name}`,
  file: bytes(size, seq),
});

Deno.test("small-object log: header and records read back as written", () => {
  const entries = [entry(8, "a", 0), entry(9, "b", 70_000), entry(10, "ü/c", 5)];
  const { bytes: records } = encodeAll(entries);
  const { checkpoint, records: read, last } = scan(logImage([7, 3], records, 256 * 1024));
  assert.equal(checkpoint, 7);
  assert.equal(last, 10);
  assert.deepEqual(read, entries);
  assert.deepEqual(readCheckpoint(readerOf(new Uint8Array(8192))), { seq: 0, slot: -1 }, "a new log has none");
});

Deno.test("small-object log: a header slot with a bad CRC falls back to the other", () => {
  const { bytes: records } = encodeAll([entry(11, "a"), entry(12, "b")]);
  const image = logImage([10, 20], records);
  image[slotOffset(1) + 9]! ^= 1; // inside the seq of the newer slot
  assert.deepEqual(readCheckpoint(readerOf(image)), { seq: 10, slot: 0 });
  assert.deepEqual(scan(image).records.map((r) => r.seq), [11, 12]);
});

Deno.test("small-object log: a torn, foreign, out-of-sequence or escaping record ends the log", () => {
  const entries = [entry(1, "a"), entry(2, "b"), entry(3, "c", 3000)];
  const { bytes: records, starts } = encodeAll(entries);
  const torn = records.slice();
  torn.fill(0, starts[2]! + 1500); // the last record half written
  assert.deepEqual(scan(logImage([0], torn)).records.map((r) => r.seq), [1, 2]);
  const flipped = records.slice();
  flipped[starts[1]! + 40]! ^= 0x80; // a byte of the second record's file
  assert.deepEqual(scan(logImage([0], flipped)).records.map((r) => r.seq), [1]);
  const gap = encodeAll([entry(1, "a"), entry(3, "c")]).bytes;
  assert.deepEqual(scan(logImage([0], gap)).records.map((r) => r.seq), [1]);
  const escaping = encodeAll([entry(1, "a"), { seq: 2, path: "objects/../../x", file: bytes(5) }]).bytes;
  assert.deepEqual(scan(logImage([0], escaping)).records.map((r) => r.seq), [1]);
  const cut = logImage([0], records).subarray(0, RECORDS_START + starts[2]! + 100);
  assert.equal(scan(cut).last, 2, "cut short by the file's end");
});

Deno.test("replaySmallLog() applies the records after the checkpoint in order, ignores older and stale ones", async () => {
  await withRoot(async (root) => {
    // Round 1 wrote seq 1-4 and was checkpointed at 4; round 2 wrote 5-7 over the start of round 1's records.
    const round1 = encodeAll([entry(1, "a", 2000), entry(2, "b", 2000), entry(3, "stale", 50), entry(4, "c", 50)]);
    const round2 = encodeAll([entry(5, "a"), entry(6, "b"), entry(7, "a", 300)]);
    assert.ok(round2.bytes.byteLength <= round1.starts[2]!, "round 2 ends inside round 1's records");
    const records = round1.bytes.slice();
    records.set(round2.bytes);
    await Deno.writeFile(`${root}/${LOG_FILE}`, logImage([4, 3], records));
    await Deno.writeFile(`${root}/objects/c`, encoder.encode("kept"));

    assert.equal(replaySmallLog(root, `${root}/tmp`), 3);
    assert.deepEqual(await Deno.readFile(`${root}/objects/a`), bytes(300, 7), "the later record of a path wins");
    assert.deepEqual(await Deno.readFile(`${root}/objects/b`), bytes(100, 6));
    assert.equal(await Deno.readTextFile(`${root}/objects/c`), "kept", "a record before the checkpoint is ignored");
    await assert.rejects(Deno.stat(`${root}/objects/stale`), Deno.errors.NotFound, "a stale record stays unapplied");
    assert.equal((await Deno.stat(`${root}/objects/a`)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], [], "no temp file is left");

    const image = await Deno.readFile(`${root}/${LOG_FILE}`);
    assert.deepEqual(readCheckpoint(readerOf(image)), { seq: 7, slot: 1 }, "the other slot holds the new checkpoint");
    await Deno.writeFile(`${root}/objects/b`, encoder.encode("changed since"));
    assert.equal(replaySmallLog(root, `${root}/tmp`), 0, "a replayed log is not replayed again");
    assert.equal(await Deno.readTextFile(`${root}/objects/b`), "changed since");
  });
});

Deno.test("replaySmallLog() skips a record whose bucket directory is gone, and works without a log", async () => {
  await withRoot(async (root) => {
    assert.equal(replaySmallLog(root, `${root}/tmp`), 0);
    await Deno.mkdir(`${root}/buckets/kept/objects`, { recursive: true });
    const { bytes: records } = encodeAll([
      { seq: 1, path: "buckets/gone/objects/x", file: bytes(10) },
      { seq: 2, path: "buckets/kept/objects/y", file: bytes(20) },
    ]);
    await Deno.writeFile(`${root}/${LOG_FILE}`, logImage([undefined, undefined], records));
    assert.equal(replaySmallLog(root, `${root}/tmp`), 1);
    assert.deepEqual(await Deno.readFile(`${root}/buckets/kept/objects/y`), bytes(20));
    await assert.rejects(Deno.stat(`${root}/buckets/gone`), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], []);
    assert.equal(readCheckpoint(readerOf(await Deno.readFile(`${root}/${LOG_FILE}`))).seq, 2);
  });
});

Deno.test("replaySmallLog() fails loudly when a record cannot be written, and keeps it for the next open", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(`${root}/objects/blocked`); // a directory where the record's file goes
    const { bytes: records } = encodeAll([entry(1, "blocked"), entry(2, "b")]);
    await Deno.writeFile(`${root}/${LOG_FILE}`, logImage([0], records));
    assert.throws(() => replaySmallLog(root, `${root}/tmp`), /Cannot replay the small-object log/);
    assert.deepEqual([...Deno.readDirSync(`${root}/tmp`)], [], "the temp file is removed");
    await Deno.remove(`${root}/objects/blocked`);
    assert.equal(replaySmallLog(root, `${root}/tmp`), 2);
    assert.deepEqual(await Deno.readFile(`${root}/objects/blocked`), bytes(100, 1));
  });
});
