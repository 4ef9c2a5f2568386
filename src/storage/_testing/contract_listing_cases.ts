/** Contract cases: listing order, pagination across 1000+ keys, prefix, delimiter and common prefixes. @module */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { ListOptions, ObjectStore } from "../mod.ts";
import type { ContractCase } from "./object_store_contract.ts";
import { pool, put } from "./contract_helpers.ts";

/** Pages through a listing with `nextStartAfter`, returning keys and common prefixes in the order seen. */
async function listAll(store: ObjectStore, bucket: string, options: ListOptions) {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let startAfter: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await store.listObjects(bucket, { ...options, ...(startAfter !== undefined ? { startAfter } : {}) });
    pages++;
    keys.push(...page.objects.map((o) => o.key));
    prefixes.push(...page.commonPrefixes);
    assert.ok(page.objects.length + page.commonPrefixes.length <= (options.maxKeys ?? 1000));
    if (!page.isTruncated) break;
    assert.ok(page.nextStartAfter !== undefined, "a truncated page names where to continue");
    startAfter = page.nextStartAfter;
    assert.ok(pages < 5000, "listing does not terminate");
  }
  return { keys, prefixes, pages };
}

function utf8Sorted(keys: string[]): string[] {
  const enc = new TextEncoder();
  return [...keys].sort((a, b) => Buffer.compare(enc.encode(a), enc.encode(b)));
}

export const listingCases: ContractCase[] = [
  {
    unsupportedWhen: "listingNotS3Conformant",
    name: "listing: UTF-8 byte order (not UTF-16 order), object info in listings",
    async fn({ store, bucket }) {
      // U+FFFF sorts before U+1F600 in UTF-8 but after it in UTF-16 code units.
      const keys = ["b", "a", "a\uffff", "a😀", "A", "a/b", "a-b", "é", "z", "aa", "a\u007f"];
      await pool(keys, 8, (k) => put(store, bucket, k, k));
      const page = await store.listObjects(bucket);
      assert.deepEqual(page.objects.map((o) => o.key), utf8Sorted(keys));
      assert.equal(page.isTruncated, false);
      const a = page.objects.find((o) => o.key === "a")!;
      assert.equal(a.size, 1);
      assert.equal(a.etag, '"0cc175b9c0f1b6a831c399e269772661"');
      assert.ok(a.lastModified instanceof Date);
    },
  },
  {
    unsupportedWhen: "listingNotS3Conformant",
    name: "listing: pagination across 1100 keys, default and small page sizes, startAfter",
    async fn({ store, bucket }) {
      const keys = Array.from({ length: 1100 }, (_, i) => `obj/${String(i).padStart(5, "0")}`);
      await pool(keys, 16, (k) => put(store, bucket, k, ""));
      const first = await store.listObjects(bucket);
      assert.equal(first.objects.length, 1000);
      assert.equal(first.isTruncated, true);
      assert.equal(first.nextStartAfter, "obj/00999");
      const all = await listAll(store, bucket, {});
      assert.deepEqual(all.keys, keys);
      assert.equal(all.pages, 2);
      const small = await listAll(store, bucket, { maxKeys: 333, prefix: "obj/00" });
      assert.deepEqual(small.keys, keys.slice(0, 1000));
      assert.equal(small.pages, 4);
      const after = await store.listObjects(bucket, { startAfter: "obj/01095" });
      assert.deepEqual(after.objects.map((o) => o.key), keys.slice(1096));
      const none = await store.listObjects(bucket, { prefix: "nothing/" });
      assert.deepEqual([none.objects.length, none.commonPrefixes.length, none.isTruncated], [0, 0, false]);
    },
  },
  {
    unsupportedWhen: "listingNotS3Conformant",
    name: "listing: delimiter and common prefixes, paged through prefixes",
    async fn({ store, bucket }) {
      const keys = ["a/1", "a/2", "b/x/1", "b/y", "c", "d/1", "d/2/3", "e", "f/"];
      await pool(keys, 8, (k) => put(store, bucket, k, k));
      const top = await store.listObjects(bucket, { delimiter: "/" });
      assert.deepEqual(top.objects.map((o) => o.key), ["c", "e"]);
      assert.deepEqual(top.commonPrefixes, ["a/", "b/", "d/", "f/"]);
      const nested = await store.listObjects(bucket, { prefix: "b/", delimiter: "/" });
      assert.deepEqual(nested.objects.map((o) => o.key), ["b/y"]);
      assert.deepEqual(nested.commonPrefixes, ["b/x/"]);
      const paged = await listAll(store, bucket, { delimiter: "/", maxKeys: 2 });
      assert.deepEqual(paged.prefixes, ["a/", "b/", "d/", "f/"]);
      assert.deepEqual(paged.keys, ["c", "e"]);
      assert.equal(paged.pages, 3);
      const firstTwo = await store.listObjects(bucket, { delimiter: "/", maxKeys: 2 });
      assert.deepEqual([firstTwo.commonPrefixes, firstTwo.nextStartAfter], [["a/", "b/"], "b/"]);
      const multi = await store.listObjects(bucket, { delimiter: "/2", prefix: "d" });
      assert.deepEqual(multi.objects.map((o) => o.key), ["d/1"]);
      assert.deepEqual(multi.commonPrefixes, ["d/2"]);
    },
  },
];
