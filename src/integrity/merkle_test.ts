import assert from "node:assert/strict";
import {
  consistencyRanges,
  emptyRoot,
  fromHex,
  type Hash,
  inclusionRanges,
  leafHash,
  nodeHash,
  nodesFor,
  rangeHash,
  TreeBuilder,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.ts";

const enc = new TextEncoder();
const MAX = Number(Deno.env.get("INTEGRITY_MERKLE_MAX") ?? 70);

// Reference implementation written straight from the RFC 9162 recursive definitions, over raw leaves.
function mth(d: Hash[]): Hash {
  if (d.length === 0) return emptyRoot();
  if (d.length === 1) return d[0]!;
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: Hash[]): Hash[] {
  if (d.length === 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: Hash[], b: boolean): Hash[] {
  if (m === d.length) return b ? [] : [mth(d)];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

function leaves(n: number): Hash[] {
  return Array.from({ length: n }, (_, i) => leafHash(enc.encode(`leaf ${i}`)));
}

/** Complete-subtree hashes as a store would keep them, built with the streaming builder. */
function nodeStore(d: Hash[]): { get: (level: number, index: number) => Hash; builder: TreeBuilder } {
  const map = new Map<string, Hash>();
  const builder = new TreeBuilder();
  d.forEach((h, i) => {
    map.set(`0/${i}`, h);
    for (const n of builder.push(h)) map.set(`${n.level}/${n.index}`, n.hash);
  });
  return {
    builder,
    get: (level, index) => {
      const h = map.get(`${level}/${index}`);
      if (!h) throw new Error(`node ${level}/${index} not stored`);
      return h;
    },
  };
}

Deno.test("TreeBuilder root equals the recursive MTH for every size 0..MAX", () => {
  const d = leaves(MAX);
  const b = new TreeBuilder();
  assert.equal(b.root().toHex(), mth([]).toHex());
  for (let n = 1; n <= MAX; n++) {
    b.push(d[n - 1]!);
    assert.equal(b.root().toHex(), mth(d.slice(0, n)).toHex(), `size ${n}`);
    const restored = new TreeBuilder({ size: b.size, edge: b.edge() });
    assert.equal(restored.root().toHex(), b.root().toHex());
  }
});

Deno.test("inclusion proofs from stored subtrees match the reference and verify, for all sizes and indexes", () => {
  const d = leaves(MAX);
  const store = nodeStore(d);
  for (let n = 1; n <= MAX; n++) {
    const root = mth(d.slice(0, n));
    assert.equal(rangeHash({ lo: 0, hi: n }, store.get).toHex(), root.toHex());
    for (let m = 0; m < n; m++) {
      const proof = inclusionRanges(m, n).map((r) => rangeHash(r, store.get));
      assert.deepEqual(
        proof.map((h) => h.toHex()),
        path(m, d.slice(0, n)).map((h) => h.toHex()),
        `PATH(${m}, D[${n}])`,
      );
      assert.ok(verifyInclusion(m, n, d[m]!, proof, root));
      assert.ok(!verifyInclusion(m, n, d[(m + 1) % MAX]!, proof, root), "wrong leaf must fail");
      if (proof.length > 0) {
        const bad = proof.map((h, i) => i === proof.length - 1 ? leafHash(h) : h);
        assert.ok(!verifyInclusion(m, n, d[m]!, bad, root), "altered path must fail");
        assert.ok(!verifyInclusion(m, n, d[m]!, proof.slice(1), root), "short path must fail");
      }
      if (n > 1) assert.ok(!verifyInclusion(m === 0 ? 1 : m - 1, n, d[m]!, proof, root), "wrong index must fail");
    }
  }
});

Deno.test("consistency proofs match the reference and verify, for all 1 ≤ m ≤ n ≤ MAX", () => {
  const d = leaves(MAX);
  const store = nodeStore(d);
  for (let n = 1; n <= MAX; n++) {
    const root2 = mth(d.slice(0, n));
    for (let m = 1; m <= n; m++) {
      const root1 = mth(d.slice(0, m));
      const proof = consistencyRanges(m, n).map((r) => rangeHash(r, store.get));
      assert.deepEqual(
        proof.map((h) => h.toHex()),
        subproof(m, d.slice(0, n), true).map((h) => h.toHex()),
        `PROOF(${m}, D[${n}])`,
      );
      assert.ok(verifyConsistency(m, n, root1, root2, proof), `verify ${m}→${n}`);
      if (m < n) {
        assert.ok(!verifyConsistency(m, n, root2, root2, proof), "wrong first root must fail");
        assert.ok(!verifyConsistency(m, n, root1, root1, proof), "wrong second root must fail");
        assert.ok(!verifyConsistency(m, n, root1, root2, proof.slice(0, -1)), "short proof must fail");
        assert.ok(!verifyConsistency(m, n, root1, root2, []), "empty proof must fail");
      }
    }
  }
});

Deno.test("edge cases: bad indexes and sizes are rejected", () => {
  assert.throws(() => inclusionRanges(3, 3), RangeError);
  assert.throws(() => inclusionRanges(-1, 3), RangeError);
  assert.throws(() => consistencyRanges(0, 3), RangeError);
  assert.throws(() => consistencyRanges(4, 3), RangeError);
  assert.deepEqual(consistencyRanges(5, 5), []);
  assert.deepEqual(inclusionRanges(0, 1), []);
  const d = leaves(1);
  assert.ok(verifyInclusion(0, 1, d[0]!, [], d[0]!));
  assert.ok(!verifyInclusion(0, 0, d[0]!, [], d[0]!));
  assert.ok(!verifyConsistency(0, 1, emptyRoot(), d[0]!, []));
  assert.throws(() => new TreeBuilder({ size: 3, edge: [d[0]!] }), RangeError);
  assert.throws(() => fromHex("zz"), SyntaxError);
  for (const bad of ["abc", "0g", "AB", "0x", "1 "]) assert.throws(() => fromHex(bad), SyntaxError, bad);
  assert.deepEqual([...fromHex("00ff7a09")], [0, 255, 122, 9]);
  assert.equal(fromHex("0123456789abcdef").toHex(), "0123456789abcdef");
  assert.deepEqual(nodesFor([{ lo: 0, hi: 3 }, { lo: 0, hi: 2 }]), [{ level: 1, index: 0 }, { level: 0, index: 2 }]);
});

Deno.test("large indexes beyond 32 bits use exact arithmetic", () => {
  const n = 2 ** 40 + 3;
  const ranges = inclusionRanges(2 ** 40 + 1, n);
  assert.deepEqual(ranges, [{ lo: 2 ** 40, hi: 2 ** 40 + 1 }, { lo: 2 ** 40 + 2, hi: n }, { lo: 0, hi: 2 ** 40 }]);
  assert.deepEqual(nodesFor([{ lo: 0, hi: n }]).map((x) => x.level), [40, 1, 0]);
});

Deno.test("known vectors agree with Python hashlib", () => {
  const data = ["", "a", "hello", "s3plugin"].map((s) => enc.encode(s));
  const ours = data.map(leafHash);
  const root3 = mth(ours.slice(0, 3));
  const script = `
import hashlib
l = [hashlib.sha256(b"\\x00" + s).digest() for s in [b"", b"a", b"hello", b"s3plugin"]]
n = lambda a, b: hashlib.sha256(b"\\x01" + a + b).digest()
print(" ".join(h.hex() for h in l))
print(n(n(l[0], l[1]), l[2]).hex())
print(n(n(l[0], l[1]), n(l[2], l[3])).hex())
print(hashlib.sha256(b"").hexdigest())
`;
  const out = new Deno.Command("/usr/bin/python3", { args: ["-c", script], stdout: "piped" }).outputSync();
  assert.equal(out.code, 0, "/usr/bin/python3 must be installed");
  const [leafLine, r3, r4, empty] = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.equal(leafLine, ours.map((h) => h.toHex()).join(" "));
  assert.equal(r3, root3.toHex());
  assert.equal(r4, mth(ours).toHex());
  assert.equal(empty, emptyRoot().toHex());
  // Pinned: the leaf hash of the empty string, the RFC 6962 test vector for an empty leaf.
  assert.equal(ours[0]!.toHex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
});
