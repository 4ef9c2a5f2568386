import assert from "node:assert/strict";
import { isAppError } from "../errors.ts";
import { type JournalRecord, openJournal } from "./journal.ts";
import { withTempDir } from "../_testing/temp_dir.ts";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("journal-test-", fn);

async function replay(dir: string, segmentBytes?: number) {
  const records: JournalRecord[] = [];
  const journal = await openJournal(dir, {
    onRecord: (r) => records.push(r),
    ...(segmentBytes ? { segmentBytes } : {}),
  });
  return { journal, records };
}

Deno.test("journal replays every durable record in order, with group-committed concurrent appends", async () => {
  await withDir(async (dir) => {
    const { journal } = await replay(dir);
    const appends = Array.from({ length: 50 }, (_, i) =>
      journal.append(
        i % 5 === 4
          ? { kind: "unmap", offset: i * 4096, length: 8192 }
          : { kind: "write", offset: i * 512, data: new Uint8Array(512).fill(i) },
      ));
    assert.deepEqual(appends.map((a) => a.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    await Promise.all(appends.map((a) => a.durable));
    assert.ok(journal.syncs < 10, `50 concurrent appends took ${journal.syncs} fsyncs`);
    await journal.close();
    const again = await replay(dir);
    assert.equal(again.records.length, 50);
    assert.deepEqual(again.records[4], { kind: "unmap", seq: 5, offset: 16384, length: 8192 });
    const third = again.records[2]!;
    assert.ok(third.kind === "write" && third.data.every((b) => b === 2) && third.offset === 1024);
    assert.equal(again.journal.nextSeq, 51);
    await again.journal.close();
  });
});

Deno.test("journal stops at a torn tail, truncates it, and keeps appending after it", async () => {
  await withDir(async (dir) => {
    const { journal } = await replay(dir);
    await journal.append({ kind: "write", offset: 0, data: new Uint8Array(1024).fill(7) }).durable;
    await journal.append({ kind: "write", offset: 4096, data: new Uint8Array(1024).fill(8) }).durable;
    await journal.close();
    const [segment] = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
    const size = (await Deno.stat(segment!)).size;
    await Deno.truncate(segment!, size - 100); // the second record was being written when power went
    const again = await replay(dir);
    assert.equal(again.records.length, 1);
    assert.equal((await Deno.stat(segment!)).size, 32 + 1024);
    await again.journal.append({ kind: "unmap", offset: 0, length: 512 }).durable;
    await again.journal.close();
    assert.deepEqual((await replay(dir).then(async (r) => (await r.journal.close(), r.records))).map((r) => r.seq), [
      1,
      2,
    ]);
  });
});

Deno.test("journal detects a corrupt record in the middle of the log", async () => {
  await withDir(async (dir) => {
    const { journal } = await replay(dir, 64);
    for (let i = 0; i < 3; i++) {
      await journal.append({ kind: "write", offset: 0, data: new Uint8Array(512).fill(i) }).durable;
    }
    await journal.close();
    const segments = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).sort();
    assert.equal(segments.length, 3, "64-byte segments: one record each");
    const bytes = await Deno.readFile(segments[0]!);
    bytes[100] = bytes[100]! ^ 0xff;
    await Deno.writeFile(segments[0]!, bytes);
    await assert.rejects(replay(dir), (e) => isAppError(e, "Integrity") && /corrupt at byte 0/.test(e.message));
  });
});

Deno.test("journal release deletes only segments whose records all reached the bucket", async () => {
  await withDir(async (dir) => {
    const { journal } = await replay(dir, 64);
    for (let i = 0; i < 4; i++) {
      await journal.append({ kind: "write", offset: 0, data: new Uint8Array(512) }).durable;
    }
    assert.equal([...Deno.readDirSync(dir)].length, 4);
    await journal.release(3);
    assert.equal([...Deno.readDirSync(dir)].length, 2, "records 3 and 4 stay");
    await journal.release(journal.nextSeq);
    assert.equal([...Deno.readDirSync(dir)].length, 0);
    assert.equal(journal.bytes, 0);
    await journal.append({ kind: "unmap", offset: 0, length: 512 }).durable;
    await journal.close();
    assert.deepEqual((await replay(dir).then(async (r) => (await r.journal.close(), r.records))).map((r) => r.seq), [
      5,
    ]);
  });
});

Deno.test("journal release requested while a write is in flight takes effect once it is written", async () => {
  await withDir(async (dir) => {
    const { journal } = await replay(dir);
    await journal.append({ kind: "write", offset: 0, data: new Uint8Array(4096) }).durable;
    const { durable } = journal.append({ kind: "write", offset: 0, data: new Uint8Array(4096) });
    await journal.release(journal.nextSeq); // e.g. the chunk was uploaded before its record hit the disk
    assert.equal([...Deno.readDirSync(dir)].length, 1, "the segment being written stays");
    await durable;
    for (let i = 0; i < 100 && [...Deno.readDirSync(dir)].length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal([...Deno.readDirSync(dir)].length, 0);
    await journal.close();
  });
});
