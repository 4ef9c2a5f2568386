/**
 * A tmpfs of a given size on a fresh directory, for tests of what happens when a disk fills, and `df`'s view of a
 * file system. Mounting needs root (CI runs as root); fails loudly without it.
 *
 * @module
 */
import assert from "node:assert/strict";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Runs `fn` with a tmpfs of `size` (`mount -t tmpfs` syntax: `8m`) mounted on a new directory; then removes both. */
export async function withTmpfs(size: string, fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "tmpfs-" });
  try {
    const mount = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", root] })
      .output();
    assert.ok(mount.success, `mounting a tmpfs needs root: ${text(mount.stderr)}`);
    try {
      await fn(root);
    } finally {
      const umount = await new Deno.Command("umount", { args: [root] }).output();
      assert.ok(umount.success, text(umount.stderr));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** `df`'s size and available bytes of the file system holding `path`. */
export async function df(path: string): Promise<{ size: number; avail: number }> {
  const out = await new Deno.Command("df", { args: ["-B1", "--output=size,avail", path] }).output();
  assert.ok(out.success, text(out.stderr));
  const [size, avail] = text(out.stdout).trim().split("\n")[1]!.trim().split(/\s+/).map(Number);
  return { size: size!, avail: avail! };
}
