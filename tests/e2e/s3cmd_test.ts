import assert from "node:assert/strict";
import { join } from "node:path";
import { run, type RunningAppliance, sha256File, withAppliance, writeTestFile } from "./_appliance.ts";

async function s3cmd(app: RunningAppliance, scratch: string, args: string[]) {
  const config = join(scratch, "s3cfg");
  const host = new URL(app.s3).host;
  await Deno.writeTextFile(
    config,
    [
      "[default]",
      `access_key = ${app.creds.accessKeyId}`,
      `secret_key = ${app.creds.secretAccessKey}`,
      `host_base = ${host}`,
      `host_bucket = ${host}`,
      "use_https = False",
      "signature_v2 = False",
      "bucket_location = us-east-1",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return (await run("/usr/bin/s3cmd", ["-c", config, "--no-progress", ...args], { env: { HOME: scratch } })).stdout;
}

Deno.test("s3cmd: put, get, ls, sync, info, setacl, setcors, delcors, del", async () => {
  await withAppliance(async (app, scratch) => {
    const b = `s3://${app.creds.bucket}`;
    const file = join(scratch, "one.bin");
    await writeTestFile(file, 300_000);
    await s3cmd(app, scratch, ["put", file, `${b}/put/one.bin`]);
    const got = join(scratch, "got.bin");
    await s3cmd(app, scratch, ["get", `${b}/put/one.bin`, got]);
    assert.equal(await sha256File(got), await sha256File(file));
    assert.match(await s3cmd(app, scratch, ["ls", `${b}/put/`]), /300000\s+s3:\/\/s3plugin\/put\/one\.bin/);

    // sync: a tree with nested dirs and a multipart-sized file (s3cmd splits at 15 MiB)
    const tree = join(scratch, "tree");
    await Deno.mkdir(join(tree, "a", "b"), { recursive: true });
    await writeTestFile(join(tree, "top.txt"), 10);
    await writeTestFile(join(tree, "a", "mid.bin"), 20_000);
    await writeTestFile(join(tree, "a", "b", "large.bin"), 17 * 1024 * 1024);
    await s3cmd(app, scratch, ["sync", `${tree}/`, `${b}/tree/`]);
    const listing = await s3cmd(app, scratch, ["ls", "--recursive", `${b}/tree/`]);
    for (const k of ["tree/top.txt", "tree/a/mid.bin", "tree/a/b/large.bin"]) assert.ok(listing.includes(k), listing);
    const back = join(scratch, "back");
    await Deno.mkdir(back);
    await s3cmd(app, scratch, ["sync", `${b}/tree/`, `${back}/`]);
    assert.equal(
      await sha256File(join(back, "a", "b", "large.bin")),
      await sha256File(join(tree, "a", "b", "large.bin")),
    );
    // a second sync of an unchanged tree transfers nothing
    const again = await s3cmd(app, scratch, ["sync", `${tree}/`, `${b}/tree/`]);
    assert.doesNotMatch(again, /upload:/);

    // info reads the bucket's and the object's settings: each answers its unconfigured state
    const bucketInfo = await s3cmd(app, scratch, ["info", b]);
    assert.match(bucketInfo, /Payer:\s+BucketOwner/);
    assert.match(bucketInfo, /Expiration Rule: none/);
    assert.match(bucketInfo, /Policy:\s+none/);
    assert.match(bucketInfo, /CORS:\s+none/);
    assert.match(bucketInfo, /ACL:\s+s3plugin: FULL_CONTROL/);
    const objectInfo = await s3cmd(app, scratch, ["info", `${b}/put/one.bin`]);
    assert.match(objectInfo, /File size: 300000/);
    assert.match(objectInfo, /ACL:\s+s3plugin: FULL_CONTROL/);
    // setacl reads the ACL and writes it back: private is what every object has, public is refused
    await s3cmd(app, scratch, ["setacl", "--acl-private", `${b}/put/one.bin`]);
    await assert.rejects(
      s3cmd(app, scratch, ["setacl", "--acl-public", `${b}/put/one.bin`]),
      /AccessControlListNotSupported/,
    );

    // setcors / delcors: the rules are kept by the appliance and answer a browser's preflight
    const cors = join(scratch, "cors.xml");
    await Deno.writeTextFile(
      cors,
      "<CORSConfiguration><CORSRule><AllowedOrigin>https://pve.example:8006</AllowedOrigin>" +
        "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader>" +
        "</CORSRule></CORSConfiguration>",
    );
    await s3cmd(app, scratch, ["setcors", cors, b]);
    assert.match(
      await s3cmd(app, scratch, ["info", b]),
      /CORS:\s+<\?xml[^]*<AllowedOrigin>https:\/\/pve\.example:8006</,
    );
    const preflight = (origin: string) =>
      fetch(`${app.s3}/${app.creds.bucket}/put/new.bin`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "PUT", "access-control-request-headers": "content-type" },
      });
    let answer = await preflight("https://pve.example:8006");
    await answer.body?.cancel();
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("access-control-allow-origin"), "https://pve.example:8006");
    answer = await preflight("https://elsewhere.example");
    await answer.body?.cancel();
    assert.equal(answer.status, 403);
    await s3cmd(app, scratch, ["delcors", b]);
    assert.match(await s3cmd(app, scratch, ["info", b]), /CORS:\s+none/);

    await s3cmd(app, scratch, ["del", `${b}/put/one.bin`]);
    assert.equal((await s3cmd(app, scratch, ["ls", `${b}/put/`])).trim(), "");
  });
});
