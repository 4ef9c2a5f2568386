// More real clients against the gateway over HTTP: boto3, s3cmd, rclone and curl (Debian packages; CI installs them).
// A missing tool makes the test fail, never skip.
import assert from "node:assert/strict";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { ADMIN, createHarness } from "./_testing/harness.ts";
import { serveHarness, type TestServer } from "./_testing/server.ts";

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env: { PATH: "/usr/bin:/bin", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withGateway(fn: (server: TestServer, dir: string) => Promise<void>) {
  const h = createHarness();
  const server = serveHarness(h);
  const dir = await Deno.makeTempDir({ prefix: "gateway-clients-" });
  try {
    await fn(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function pattern(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >> 12)) & 0xff);
}

Deno.test("boto3: put/get with metadata, multipart transfer, presigned GET, paginated listing, delete_objects, errors", async () => {
  await withGateway(async (server, dir) => {
    const script = new URL("./testdata/boto3_client.py", import.meta.url).pathname;
    const r = await run("/usr/bin/python3", [script, server.endpoint, ADMIN.accessKeyId, ADMIN.secretAccessKey], {
      HOME: dir,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 5, r.stdout);
  });
});

Deno.test("s3cmd: mb, multipart put, get, ls, del with SigV4", async () => {
  await withGateway(async (server, dir) => {
    const host = `127.0.0.1:${server.port}`;
    const cfg = `${dir}/s3cfg`;
    await Deno.writeTextFile(
      cfg,
      `[default]\naccess_key = ${ADMIN.accessKeyId}\nsecret_key = ${ADMIN.secretAccessKey}\nhost_base = ${host}\n` +
        `host_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n`,
    );
    const s3cmd = (...args: string[]) => run("/usr/bin/s3cmd", ["-c", cfg, ...args], { HOME: dir });
    const data = pattern(12 * 1024 * 1024 + 5);
    await Deno.writeFile(`${dir}/in.bin`, data);
    for (
      const args of [
        ["mb", "s3://s3cmd"],
        ["put", "--multipart-chunk-size-mb=5", `${dir}/in.bin`, "s3://s3cmd/dir/in.bin"],
        ["get", "s3://s3cmd/dir/in.bin", `${dir}/out.bin`],
      ]
    ) {
      const r = await s3cmd(...args);
      assert.equal(r.code, 0, `s3cmd ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(await Deno.readFile(`${dir}/out.bin`), data);
    const ls = await s3cmd("ls", "-r", "s3://s3cmd");
    assert.match(ls.stdout, /12582917\s+s3:\/\/s3cmd\/dir\/in\.bin/);
    assert.equal((await s3cmd("del", "s3://s3cmd/dir/in.bin")).code, 0);
    assert.equal((await s3cmd("rb", "s3://s3cmd")).code, 0);
  });
});

Deno.test("rclone: copy a directory tree up and back, check sizes and hashes, purge", async () => {
  await withGateway(async (server, dir) => {
    await Deno.mkdir(`${dir}/src/sub`, { recursive: true });
    await Deno.writeFile(`${dir}/src/a.bin`, pattern(300_000));
    await Deno.writeFile(`${dir}/src/sub/b.bin`, pattern(70 * 1024 * 1024 / 10));
    await Deno.writeTextFile(`${dir}/src/sub/c d.txt`, "text with space");
    const env = {
      HOME: dir,
      RCLONE_CONFIG: `${dir}/rclone.conf`,
      RCLONE_CONFIG_GW_TYPE: "s3",
      RCLONE_CONFIG_GW_PROVIDER: "Other",
      RCLONE_CONFIG_GW_ENDPOINT: server.endpoint,
      RCLONE_CONFIG_GW_ACCESS_KEY_ID: ADMIN.accessKeyId,
      RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      RCLONE_CONFIG_GW_REGION: "us-east-1",
      RCLONE_CONFIG_GW_FORCE_PATH_STYLE: "true",
      RCLONE_S3_UPLOAD_CUTOFF: "5M",
      RCLONE_S3_CHUNK_SIZE: "5M",
    };
    for (
      const args of [
        ["mkdir", "gw:rclone"],
        ["copy", `${dir}/src`, "gw:rclone/tree"],
        ["check", `${dir}/src`, "gw:rclone/tree"],
        ["copy", "gw:rclone/tree", `${dir}/back`],
      ]
    ) {
      const r = await run("/usr/bin/rclone", args, env);
      assert.equal(r.code, 0, `rclone ${args.join(" ")}: ${r.stderr}`);
    }
    assert.deepEqual(await Deno.readFile(`${dir}/back/sub/b.bin`), await Deno.readFile(`${dir}/src/sub/b.bin`));
    assert.equal(await Deno.readTextFile(`${dir}/back/sub/c d.txt`), "text with space");
    const r = await run("/usr/bin/rclone", ["purge", "gw:rclone"], env);
    assert.equal(r.code, 0, r.stderr);
  });
});

Deno.test("curl -F: a presigned POST form sent by curl's own multipart encoder is stored, in bytes and headers", async () => {
  await withGateway(async (server, dir) => {
    const s3 = new S3Client({
      endpoint: server.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: ADMIN,
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "curl" }));
      const { url, fields } = await createPresignedPost(s3, {
        Bucket: "curl",
        Key: "forms/${filename}",
        Conditions: [["starts-with", "$key", "forms/"], ["starts-with", "$x-amz-meta-sender", ""]],
        Fields: { "Content-Type": "application/octet-stream" },
        Expires: 300,
      });
      const data = pattern(300_000);
      await Deno.writeFile(`${dir}/payload.bin`, data);
      const form = Object.entries({ ...fields, "x-amz-meta-sender": "curl" }).flatMap(([k, v]) => ["-F", `${k}=${v}`]);
      const r = await run("/usr/bin/curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        ...form,
        "-F",
        `file=@${dir}/payload.bin`,
        url,
      ]);
      assert.equal(r.stdout, "204", r.stderr);
      const got = await s3.send(new GetObjectCommand({ Bucket: "curl", Key: "forms/payload.bin" }));
      assert.equal(got.Metadata?.sender, "curl");
      assert.deepEqual(await got.Body!.transformToByteArray(), data);
    } finally {
      s3.destroy();
    }
  });
});
