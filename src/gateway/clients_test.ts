// More real clients against the gateway over HTTP: boto3, s3cmd, rclone, curl, restic, s3fs and s3backer (Debian
// packages; CI installs them), and MinIO's JavaScript client (npm).
// A missing tool makes the test fail, never skip.
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { Client as MinioClient, CopyConditions } from "minio";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { ADMIN, createHarness } from "./_testing/harness.ts";
import { serveHarness, type TestServer } from "./_testing/server.ts";
import { runClientTool } from "./_testing/client_tool.ts";

async function withGateway(fn: (server: TestServer, dir: string) => Promise<void>) {
  const h = createHarness();
  const server = await serveHarness(h);
  const dir = await Deno.makeTempDir({ prefix: "gateway-clients-" });
  try {
    await fn(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A shell script runner with `dir` as HOME (and the admin tools of /sbin on PATH) that fails on a failed script. */
function shellIn(dir: string): (script: string) => Promise<string> {
  return async (script) => {
    const r = await runClientTool("/bin/sh", ["-ec", script], { HOME: dir, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
    assert.equal(r.code, 0, `${script}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
}

function sdkClient(server: TestServer): S3Client {
  return new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: ADMIN });
}

function pattern(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >> 12)) & 0xff);
}

Deno.test("boto3: put/get with metadata, multipart transfer, presigned GET, paginated listing, delete_objects, errors", async () => {
  await withGateway(async (server, dir) => {
    const script = new URL("./testdata/boto3_client.py", import.meta.url).pathname;
    const r = await runClientTool("/usr/bin/python3", [
      script,
      server.endpoint,
      ADMIN.accessKeyId,
      ADMIN.secretAccessKey,
    ], {
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
    const s3cmd = (...args: string[]) => runClientTool("/usr/bin/s3cmd", ["-c", cfg, ...args], { HOME: dir });
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
      const r = await runClientTool("/usr/bin/rclone", args, env);
      assert.equal(r.code, 0, `rclone ${args.join(" ")}: ${r.stderr}`);
    }
    assert.deepEqual(await Deno.readFile(`${dir}/back/sub/b.bin`), await Deno.readFile(`${dir}/src/sub/b.bin`));
    assert.equal(await Deno.readTextFile(`${dir}/back/sub/c d.txt`), "text with space");
    const r = await runClientTool("/usr/bin/rclone", ["purge", "gw:rclone"], env);
    assert.equal(r.code, 0, r.stderr);
  });
});

Deno.test("curl -F: a presigned POST form sent by curl's own multipart encoder is stored, in bytes and headers", async () => {
  await withGateway(async (server, dir) => {
    const s3 = sdkClient(server);
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
      const r = await runClientTool("/usr/bin/curl", [
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

Deno.test("curl --aws-sigv4: bodiless PUTs (a bucket, an ACL), upload, download, HEAD, listing, delete; the header S3 requires", async () => {
  await withGateway(async (server, dir) => {
    const signing = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey}`];
    // curl 7.88 signs no x-amz-content-sha256 of its own; S3 requires one, so scripts add it (signed as given).
    const unsigned = ["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"];
    // curl signs the query as written, so it is written in SigV4's canonical form: sorted, `/` as %2F, `acl=`.
    const curl = async (...args: string[]) => {
      const r = await runClientTool("/usr/bin/curl", ["-sS", "-w", "\n%{http_code}", ...signing, ...args], {
        HOME: dir,
      });
      assert.equal(r.code, 0, r.stderr);
      const at = r.stdout.lastIndexOf("\n");
      return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
    };
    const data = pattern(3 * 1024 * 1024 + 1);
    await Deno.writeFile(`${dir}/vzdump.vma`, data);
    const url = `${server.endpoint}/curl-bucket`;

    // No body and no Content-Length: a CreateBucket without configuration, and an ACL given by header only.
    assert.deepEqual(await curl(...unsigned, "-X", "PUT", url), { status: 200, body: "" });
    assert.equal((await curl(...unsigned, "-X", "PUT", "-H", "x-amz-acl: private", `${url}?acl=`)).status, 200);
    assert.equal((await curl(...unsigned, "-T", `${dir}/vzdump.vma`, `${url}/dump/vzdump%20a.vma`)).status, 200);
    const got = await runClientTool("/usr/bin/curl", [
      "-sS",
      "-o",
      `${dir}/back.vma`,
      ...signing,
      ...unsigned,
      `${url}/dump/vzdump%20a.vma`,
    ]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/back.vma`), data);
    const head = await curl(...unsigned, "-I", `${url}/dump/vzdump%20a.vma`);
    assert.match(head.body, new RegExp(`content-length: ${data.byteLength}\r\n`, "i"));
    const listing = await curl(...unsigned, `${url}?list-type=2&prefix=dump%2F`);
    assert.match(listing.body, /<Key>dump\/vzdump a\.vma<\/Key>/);
    assert.equal((await curl(...unsigned, "-X", "DELETE", `${url}/dump/vzdump%20a.vma`)).status, 204);

    const bare = await curl(`${url}?list-type=2`);
    assert.equal(bare.status, 400);
    assert.match(
      bare.body,
      /<Code>InvalidRequest<\/Code><Message>Missing required header for this request: x-amz-content-sha256/,
    );
  });
});

/** Writes `size` random bytes (incompressible, so no client can shortcut them) to `path`. */
async function writeRandomFile(path: string, size: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const block = new Uint8Array(64 * 1024);
    for (let left = size; left > 0; left -= block.byteLength) {
      crypto.getRandomValues(block);
      const piece = block.subarray(0, Math.min(left, block.byteLength));
      for (let done = 0; done < piece.byteLength;) done += await file.write(piece.subarray(done));
    }
  } finally {
    file.close();
  }
}

/** The relative paths and contents of every file under `root`. */
async function treeOf(root: string, dir = ""): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(`${root}/${dir}`)) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory) { for (const [k, v] of await treeOf(root, rel)) files.set(k, v); }
    else files.set(rel, await Deno.readFile(`${root}/${rel}`));
  }
  return files;
}

Deno.test("restic (minio-go, chunk-signed uploads): init, backup, check --read-data, restore, forget --prune, wrong secret", async () => {
  await withGateway(async (server, dir) => {
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/docs/deep`, { recursive: true });
    await writeRandomFile(`${src}/disk.raw`, 24 * 1024 * 1024);
    for (let i = 0; i < 120; i++) await writeRandomFile(`${src}/docs/${i % 2 ? "deep/" : ""}f${i}.bin`, i * 67);
    await Deno.writeTextFile(`${src}/docs/ünïcode ключ.txt`, "text");
    const env = {
      HOME: dir,
      RESTIC_PASSWORD: "correct horse",
      AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    };
    // No local cache: every read of the repository's index and packs goes to the gateway.
    const restic = async (...args: string[]) => {
      const r = await runClientTool("/usr/bin/restic", [
        "-r",
        `s3:${server.endpoint}/restic/repo`,
        "--no-cache",
        ...args,
      ], env);
      assert.equal(r.code, 0, `restic ${args.join(" ")}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    const restoredEquals = async (target: string) => {
      await restic("restore", "latest", "--target", target);
      assert.deepEqual(await treeOf(`${target}${src}`), await treeOf(src));
    };

    await restic("init");
    await restic("backup", "--host", "pve1", src);
    await restic("check", "--read-data");
    await restoredEquals(`${dir}/back1`);

    for (let i = 0; i < 120; i += 3) await Deno.remove(`${src}/docs/${i % 2 ? "deep/" : ""}f${i}.bin`);
    await writeRandomFile(`${src}/docs/new.bin`, 6 * 1024 * 1024);
    await restic("backup", "--host", "pve1", src);
    // Repacking every pack that holds data no snapshot needs any more: reads, rewrites and deletes of packs.
    await restic("forget", "--keep-last", "1", "--prune", "--max-unused", "0");
    await restic("check", "--read-data");
    assert.equal(JSON.parse(await restic("snapshots", "--json")).length, 1);
    await restoredEquals(`${dir}/back2`);

    const streamed = server.seen.filter((h) => h.get("x-amz-content-sha256") === "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    assert.ok(streamed.length > 0, "minio-go sends its uploads with chunk signatures over plain HTTP");

    const denied = await runClientTool(
      "/usr/bin/restic",
      ["-r", `s3:${server.endpoint}/restic/repo`, "--no-cache", "snapshots"],
      {
        ...env,
        AWS_SECRET_ACCESS_KEY: "wrong" + ADMIN.secretAccessKey,
      },
    );
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /signature we calculated does not match/i);
  });
});

Deno.test("s3fs (FUSE mount): multipart write, rename by copy, append, mkdir, rm; objects and bytes seen again after a remount", async () => {
  await withGateway(async (server, dir) => {
    const s3 = sdkClient(server);
    const mnt = `${dir}/mnt`;
    await Deno.mkdir(mnt);
    await Deno.writeTextFile(`${dir}/passwd`, `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey}\n`, { mode: 0o600 });
    const sh = shellIn(dir);
    const mount = () =>
      sh(
        `s3fs fuse ${mnt} -o url=${server.endpoint},use_path_request_style,sigv4,endpoint=us-east-1,` +
          `passwd_file=${dir}/passwd,multipart_size=8,multipart_threshold=8,dbglevel=warn && mountpoint -q ${mnt}`,
      );
    let mounted = false;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "fuse" }));
      await writeRandomFile(`${dir}/image.qcow2`, 20 * 1024 * 1024 + 3);
      await mount();
      mounted = true;
      await sh(
        `cp ${dir}/image.qcow2 ${mnt}/image.qcow2
         printf 'first\\n' > ${mnt}/notes.txt
         printf 'second\\n' >> ${mnt}/notes.txt
         mkdir ${mnt}/iso
         printf 'x' > ${mnt}/iso/tmp.iso
         mv ${mnt}/iso/tmp.iso ${mnt}/iso/debian.iso
         printf 'gone' > ${mnt}/gone.txt
         rm ${mnt}/gone.txt`,
      );
      await sh(`fusermount -u ${mnt}`);
      mounted = false;

      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "fuse" }));
      assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [
        "image.qcow2",
        "iso/",
        "iso/debian.iso",
        "notes.txt",
      ]);
      const image = await s3.send(new HeadObjectCommand({ Bucket: "fuse", Key: "image.qcow2" }));
      assert.match(image.ETag ?? "", /-[2-9]"$/, "a multipart upload");
      assert.equal(image.Metadata?.mode, String(0o100644), "s3fs keeps the file mode in user metadata");
      const notes = await s3.send(new GetObjectCommand({ Bucket: "fuse", Key: "notes.txt" }));
      assert.equal(await notes.Body!.transformToString(), "first\nsecond\n");

      await mount();
      mounted = true;
      await sh(`cmp ${dir}/image.qcow2 ${mnt}/image.qcow2 && test "$(cat ${mnt}/iso/debian.iso)" = x`);
      assert.deepEqual((await sh(`ls ${mnt}`)).trim().split("\n"), ["image.qcow2", "iso", "notes.txt"]);
    } finally {
      if (mounted) await runClientTool("/bin/fusermount", ["-u", "-z", mnt]);
      s3.destroy();
    }
  });
});

Deno.test("s3backer (FUSE block device of S3 blocks, its own SigV4 over libcurl): ext4 made and written; after a remount with an empty cache, fsck clean and the bytes equal", async () => {
  await withGateway(async (server, dir) => {
    const s3 = sdkClient(server);
    const [blocks, fs] = [`${dir}/blocks`, `${dir}/fs`];
    await Deno.mkdir(blocks);
    await Deno.mkdir(fs);
    await Deno.writeTextFile(`${dir}/creds`, `${ADMIN.accessKeyId}:${ADMIN.secretAccessKey}\n`, { mode: 0o600 });
    const sh = shellIn(dir);
    /** s3backer in the foreground: unmounting it flushes its write-back cache, and its exit says that it is done. */
    const attach = async () => {
      const child = new Deno.Command("/usr/bin/s3backer", {
        args: [
          "-f",
          `--accessFile=${dir}/creds`,
          `--baseURL=${server.endpoint}/`, // no --region: it would switch to virtual-host style
          "--authVersion=aws4",
          "--blockSize=256K",
          "--size=64M",
          "--prefix=disk/",
          "--listBlocks",
          "s3backer",
          blocks,
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      await sh(`for i in $(seq 100); do [ -f ${blocks}/file ] && exit 0; sleep 0.1; done; exit 1`);
      return child;
    };
    const detach = async (child: Deno.ChildProcess) => {
      await sh(`fusermount -u ${blocks}`);
      const { code, stderr } = await child.output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
    };
    let child: Deno.ChildProcess | undefined;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "s3backer" }));
      await writeRandomFile(`${dir}/data.bin`, 10 * 1024 * 1024 + 5);
      child = await attach();
      await sh(
        `mkfs.ext4 -q -F ${blocks}/file
         mount -o loop ${blocks}/file ${fs}
         cp ${dir}/data.bin ${fs}/data.bin
         umount ${fs}`,
      );
      await detach(child);
      child = undefined;
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "s3backer", Prefix: "disk/" }));
      assert.ok((listed.KeyCount ?? 0) >= 40, `blocks stored as objects: ${listed.KeyCount}`);

      child = await attach();
      await sh(
        `e2fsck -fn ${blocks}/file
         mount -o loop,ro ${blocks}/file ${fs}
         cmp ${dir}/data.bin ${fs}/data.bin
         umount ${fs}`,
      );
      const stats = await Deno.readTextFile(`${blocks}/stats`);
      assert.match(stats, /http_gets\s+[1-9]\d*\n/, "read back from the gateway, not from a cache");
      assert.match(stats, /http_4xx_error\s+0\n/);
      await detach(child);
      child = undefined;
    } finally {
      if (child) {
        await runClientTool("/bin/umount", ["-l", fs]);
        await runClientTool("/bin/fusermount", ["-u", "-z", blocks]);
        child.kill("SIGKILL");
        await child.status;
      }
      s3.destroy();
    }
  });
});

Deno.test("MinIO's JavaScript client (its own SigV4): bucket, puts (an empty one, a stream of unknown size in parts), stat, get, partial get, copy, presigned GET and PUT, listing, batch remove", async () => {
  await withGateway(async (server) => {
    const mc = new MinioClient({
      endPoint: "127.0.0.1",
      port: server.port,
      useSSL: false,
      accessKey: ADMIN.accessKeyId,
      secretKey: ADMIN.secretAccessKey,
      region: "us-east-1",
      pathStyle: true,
      partSize: 5 * 1024 * 1024,
    });
    const bucket = "minio-js";
    await mc.makeBucket(bucket, "us-east-1");
    await mc.putObject(bucket, "small.txt", "hello from minio-js", undefined, {
      "Content-Type": "text/plain",
      "X-Amz-Meta-Owner": "ops",
    });
    await mc.putObject(bucket, "empty", "");
    const data = pattern(12 * 1024 * 1024 + 3);
    const chunks = Array.from({ length: 13 }, (_, i) => Buffer.from(data.subarray(i << 20, (i + 1) << 20)));
    const uploaded = await mc.putObject(bucket, "big.bin", Readable.from(chunks)); // no size: multipart
    assert.match(uploaded.etag, /^[0-9a-f]{32}-3$/, "three parts of 5 MiB");

    const stat = await mc.statObject(bucket, "small.txt");
    assert.deepEqual([stat.size, stat.metaData["content-type"], stat.metaData.owner], [19, "text/plain", "ops"]);
    const got: Buffer[] = [];
    for await (const chunk of await mc.getObject(bucket, "big.bin")) got.push(chunk as Buffer);
    assert.ok(Buffer.concat(got).equals(Buffer.from(data)));
    const part: Buffer[] = [];
    for await (const chunk of await mc.getPartialObject(bucket, "small.txt", 6, 4)) part.push(chunk as Buffer);
    assert.equal(Buffer.concat(part).toString(), "from");
    await mc.copyObject(bucket, "copy.txt", `/${bucket}/small.txt`, new CopyConditions());
    assert.equal(
      await (await fetch(await mc.presignedGetObject(bucket, "copy.txt", 60))).text(),
      "hello from minio-js",
    );
    const put = await fetch(await mc.presignedPutObject(bucket, "by-url.txt", 60), {
      method: "PUT",
      body: "put by URL",
    });
    assert.equal(put.status, 200);
    await put.body?.cancel();

    const listed = async () => {
      const keys: string[] = [];
      for await (const o of mc.listObjectsV2(bucket, "", true)) keys.push((o as { name: string }).name);
      return keys.sort();
    };
    const keys = await listed();
    assert.deepEqual(keys, ["big.bin", "by-url.txt", "copy.txt", "empty", "small.txt"]);
    await mc.removeObjects(bucket, keys);
    assert.deepEqual(await listed(), []);
    await assert.rejects(mc.statObject(bucket, "small.txt"), (err: { code?: string }) => err.code === "NotFound");
    await mc.removeBucket(bucket);
  });
});
