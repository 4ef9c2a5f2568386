import assert from "node:assert/strict";
import { createKeyFilter } from "./glob.ts";
import {
  type Change,
  type ManifestEntry,
  type ObjectState,
  planFromChanges,
  planFromListing,
  type PlanItem,
  planVerify,
} from "./planner.ts";

const T = new Date("2026-01-01T00:00:00Z");
const all = createKeyFilter({ reserved: ".cowsync/" });

function obj(key: string, size: number, etag: string): ObjectState {
  return { key, size, etag: `"${etag}"`, lastModified: T };
}
function manifest(...entries: [string, number, string, string?][]): Map<string, ManifestEntry> {
  return new Map(entries.map(([key, size, etag, mirror]) => [key, {
    ...obj(key, size, etag),
    mirrorEtag: `"${mirror ?? etag}"`,
  }]));
}
function ops(plan: PlanItem[]): string[] {
  return plan.map((p) => `${p.op} ${p.key} ${p.reason}`);
}

const listingCases: {
  name: string;
  source: ObjectState[];
  manifest: Map<string, ManifestEntry>;
  mode: "mirror" | "additive";
  want: string[];
}[] = [
  { name: "empty both", source: [], manifest: manifest(), mode: "mirror", want: [] },
  {
    name: "first run copies all",
    source: [obj("b", 1, "b1"), obj("a", 0, "a0")],
    manifest: manifest(),
    mode: "mirror",
    want: ["copy a new", "copy b new"],
  },
  {
    name: "unchanged is skipped",
    source: [obj("a", 3, "x")],
    manifest: manifest(["a", 3, "x"]),
    mode: "mirror",
    want: [],
  },
  {
    name: "etag change is modified",
    source: [obj("a", 3, "y")],
    manifest: manifest(["a", 3, "x"]),
    mode: "mirror",
    want: ["copy a modified"],
  },
  {
    name: "size change is modified",
    source: [obj("a", 4, "x")],
    manifest: manifest(["a", 3, "x"]),
    mode: "mirror",
    want: ["copy a modified"],
  },
  {
    name: "deleted in mirror mode",
    source: [obj("a", 3, "x")],
    manifest: manifest(["a", 3, "x"], ["gone", 1, "g"]),
    mode: "mirror",
    want: ["delete gone deleted"],
  },
  {
    name: "additive keeps deleted",
    source: [],
    manifest: manifest(["gone", 1, "g"]),
    mode: "additive",
    want: [],
  },
  {
    name: "utf-8 byte order, not UTF-16 order",
    source: [obj("\u{1F600}", 1, "e"), obj("\uFF61", 1, "f"), obj("z", 1, "z")],
    manifest: manifest(),
    mode: "mirror",
    want: ["copy z new", "copy \uFF61 new", "copy \u{1F600} new"],
  },
  {
    name: "reserved versions area is ignored on both sides",
    source: [obj(".cowsync/versions/a/1", 1, "v")],
    manifest: manifest([".cowsync/versions/b/1", 1, "v"]),
    mode: "mirror",
    want: [],
  },
];

Deno.test("planFromListing() diffs the source listing against the manifest", async (t) => {
  for (const c of listingCases) {
    await t.step(c.name, () => {
      assert.deepEqual(ops(planFromListing(c.source, c.manifest, { mode: c.mode, filter: all })), c.want);
    });
  }
});

Deno.test("planFromListing() leaves filtered-out keys alone on both sides", () => {
  const filter = createKeyFilter({ exclude: ["*.tmp"] });
  const plan = planFromListing([obj("x.tmp", 1, "n"), obj("y", 1, "y")], manifest(["old.tmp", 1, "o"]), {
    mode: "mirror",
    filter,
  });
  assert.deepEqual(ops(plan), ["copy y new"]);
});

Deno.test("planFromListing() carries size and source etag into copy items", () => {
  const [item] = planFromListing([obj("k", 42, "abc-2")], manifest(), { mode: "mirror", filter: all });
  assert.deepEqual(item, { op: "copy", key: "k", size: 42, etag: '"abc-2"', reason: "new" });
});

const changeCases: { name: string; changes: Change[]; manifest: Map<string, ManifestEntry>; want: string[] }[] = [
  { name: "no changes", changes: [], manifest: manifest(["a", 1, "a"]), want: [] },
  {
    name: "new put",
    changes: [{ op: "put", key: "n", etag: '"n"', size: 1 }],
    manifest: manifest(),
    want: ["copy n new"],
  },
  {
    name: "put with same content as manifest is skipped",
    changes: [{ op: "put", key: "a", etag: '"a"', size: 1 }],
    manifest: manifest(["a", 1, "a"]),
    want: [],
  },
  {
    name: "put without etag is always copied",
    changes: [{ op: "put", key: "a", etag: null, size: null }],
    manifest: manifest(["a", 1, "a"]),
    want: ["copy a modified"],
  },
  {
    name: "last change wins: put then delete",
    changes: [{ op: "put", key: "a", etag: '"b"', size: 1 }, { op: "delete", key: "a", etag: null, size: null }],
    manifest: manifest(["a", 1, "a"]),
    want: ["delete a deleted"],
  },
  {
    name: "last change wins: delete then put",
    changes: [{ op: "delete", key: "a", etag: null, size: null }, { op: "put", key: "a", etag: '"c"', size: 2 }],
    manifest: manifest(["a", 1, "a"]),
    want: ["copy a modified"],
  },
  {
    name: "delete of an unknown key is a no-op",
    changes: [{ op: "delete", key: "x", etag: null, size: null }],
    manifest: manifest(),
    want: [],
  },
];

Deno.test("planFromChanges() coalesces the change feed against the manifest", async (t) => {
  for (const c of changeCases) {
    await t.step(c.name, () => {
      assert.deepEqual(ops(planFromChanges(c.changes, c.manifest, { mode: "mirror", filter: all })), c.want);
    });
  }
});

Deno.test("planFromChanges() in additive mode never deletes", () => {
  const plan = planFromChanges([{ op: "delete", key: "a", etag: null, size: null }], manifest(["a", 1, "a"]), {
    mode: "additive",
    filter: all,
  });
  assert.deepEqual(plan, []);
});

Deno.test("planVerify() repairs every difference between the two sides", () => {
  const source = [obj("ok", 1, "o"), obj("missing", 1, "m"), obj("tampered", 2, "t"), obj("rechunked", 9, "r-2")];
  const mirror = new Map([
    ["ok", { key: "ok", size: 1, etag: '"o"' }],
    ["tampered", { key: "tampered", size: 2, etag: '"zz"' }],
    ["rechunked", { key: "rechunked", size: 9, etag: '"single"' }],
    ["extra", { key: "extra", size: 5, etag: '"e"' }],
  ]);
  const m = manifest(["ok", 1, "o"], ["tampered", 2, "t"], ["rechunked", 9, "r-2", "single"]);
  assert.deepEqual(ops(planVerify(source, mirror, m, { mode: "mirror", filter: all })), [
    "delete extra extra-on-mirror",
    "copy missing missing-on-mirror",
    "copy tampered differs-on-mirror",
  ]);
  assert.deepEqual(ops(planVerify(source, mirror, m, { mode: "additive", filter: all })), [
    "copy missing missing-on-mirror",
    "copy tampered differs-on-mirror",
  ]);
});
