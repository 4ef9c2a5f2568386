import assert from "node:assert/strict";
import { join } from "node:path";
import { run, type RunningAppliance, sha256File, withAppliance, writeTestFile } from "./_appliance.ts";

async function rclone(app: RunningAppliance, scratch: string, args: string[], allowFailure = false) {
  const config = join(scratch, "rclone.conf");
  await Deno.writeTextFile(
    config,
    [
      "[gw]",
      "type = s3",
      "provider = Other",
      "env_auth = false",
      `access_key_id = ${app.creds.accessKeyId}`,
      `secret_access_key = ${app.creds.secretAccessKey}`,
      `endpoint = ${app.s3}`,
      "region = us-east-1",
      "force_path_style = true",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  // rclone 1.60 fails every call when AWS_CA_BUNDLE is set: the env is built without it.
  return await run("/usr/bin/rclone", ["--config", config, ...args], { env: { HOME: scratch }, allowFailure });
}

Deno.test("rclone: copy, lsf, check, sync (with deletes)", async () => {
  await withAppliance(async (app, scratch) => {
    const remote = `gw:${app.creds.bucket}/rc`;
    const src = join(scratch, "src");
    await Deno.mkdir(join(src, "d"), { recursive: true });
    await writeTestFile(join(src, "a.bin"), 1000);
    await writeTestFile(join(src, "d", "b.bin"), 70 * 1024 * 1024); // above rclone's multipart cutoff
    await Deno.writeTextFile(join(src, "d", "ünïcode ключ.txt"), "text");
    await rclone(app, scratch, ["copy", src, remote]);
    const lsf = (await rclone(app, scratch, ["lsf", "-R", "--files-only", remote])).stdout.trim().split("\n").sort();
    assert.deepEqual(lsf, ["a.bin", "d/b.bin", "d/ünïcode ключ.txt"]);
    await rclone(app, scratch, ["check", src, remote]);

    await Deno.remove(join(src, "a.bin"));
    await writeTestFile(join(src, "new.bin"), 4096);
    await rclone(app, scratch, ["sync", src, remote]);
    const after = (await rclone(app, scratch, ["lsf", "-R", "--files-only", remote])).stdout.trim().split("\n").sort();
    assert.deepEqual(after, ["d/b.bin", "d/ünïcode ключ.txt", "new.bin"]);
    await rclone(app, scratch, ["check", "--download", src, remote]);

    // check must notice a changed object
    await writeTestFile(join(src, "new.bin"), 4096);
    const differs = await rclone(app, scratch, ["check", src, remote], true);
    assert.notEqual(differs.code, 0);
    const back = join(scratch, "back");
    await rclone(app, scratch, ["copy", remote, back]);
    assert.equal(await sha256File(join(back, "d", "b.bin")), await sha256File(join(src, "d", "b.bin")));
  });
});
