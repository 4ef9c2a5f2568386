import assert from "node:assert/strict";
import { createKeyFilter, globToRegExp } from "./glob.ts";

const cases: [glob: string, key: string, match: boolean][] = [
  ["*.iso", "a.iso", true],
  ["*.iso", "dir/sub/a.iso", true],
  ["*.iso", "a.iso.bak", false],
  ["/*.iso", "dir/a.iso", false],
  ["/*.iso", "a.iso", true],
  ["dir/*", "dir/a", true],
  ["dir/*", "dir/a/b", false],
  ["dir/**", "dir/a/b", true],
  ["/dir/**", "x/dir/a", false],
  ["file?.txt", "file1.txt", true],
  ["file?.txt", "file/.txt", false],
  ["[ab]*.log", "b1.log", true],
  ["[!ab]*.log", "b1.log", false],
  ["*.{jpg,png}", "x/y.png", true],
  ["*.{jpg,png}", "y.gif", false],
  ["ünï cødé/*", "ünï cødé/😀", true],
  ["a+b(1).txt", "a+b(1).txt", true],
];

Deno.test("globToRegExp() matches like rclone filters", () => {
  for (const [glob, key, match] of cases) {
    assert.equal(globToRegExp(glob).test(key), match, `${glob} vs ${key}`);
  }
});

Deno.test("globToRegExp() rejects unbalanced patterns", () => {
  assert.throws(() => globToRegExp("a[b"), SyntaxError);
  assert.throws(() => globToRegExp("{a,b"), SyntaxError);
});

Deno.test("createKeyFilter() applies include, exclude and the reserved prefix", () => {
  const f = createKeyFilter({ include: ["*.qcow2", "*.vma*"], exclude: ["tmp/**"], reserved: ".cowsync/" });
  assert.equal(f("vm/disk.qcow2"), true);
  assert.equal(f("dump/x.vma.zst"), true);
  assert.equal(f("tmp/disk.qcow2"), false);
  assert.equal(f("notes.txt"), false);
  assert.equal(f(".cowsync/versions/vm/disk.qcow2/3"), false);
  assert.equal(createKeyFilter({})("anything"), true);
});
