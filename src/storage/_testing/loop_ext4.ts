/**
 * A small ext4 file system on a loop device, for tests of what the fs store does when the disk is full. Needs
 * root (CI runs as root); fails loudly without it.
 *
 * @module
 */
import assert from "node:assert/strict";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * Makes a 12 MiB ext4 image in `dir` (`mkfsArgs` added to mkfs.ext4's), mounts it on `dir/mnt`, runs `fn` with
 * that mount point and unmounts it.
 */
export async function withLoopExt4(
  dir: string,
  fn: (root: string) => Promise<void>,
  mkfsArgs: string[] = [],
): Promise<void> {
  const image = `${dir}/fs.img`;
  const root = `${dir}/mnt`;
  await Deno.mkdir(root);
  const mk = await new Deno.Command("mkfs.ext4", { args: ["-q", "-F", ...mkfsArgs, image, "12M"] }).output();
  assert.ok(mk.success, text(mk.stderr));
  const mount = await new Deno.Command("mount", { args: ["-o", "loop", image, root] }).output();
  assert.ok(mount.success, `mounting a loop ext4 needs root: ${text(mount.stderr)}`);
  try {
    await fn(root);
  } finally {
    const umount = await new Deno.Command("umount", { args: [root] }).output();
    assert.ok(umount.success, text(umount.stderr));
  }
}
