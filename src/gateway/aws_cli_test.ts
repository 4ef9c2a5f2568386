// Real-client tests with the AWS CLI v2 (/usr/bin/aws): s3api calls, high-level `aws s3` transfers (multipart),
// signed payloads, and error reporting. The CLI must be installed (CI installs awscli); a missing binary fails.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ADMIN, createHarness } from "./_testing/harness.ts";
import { serveHarness, type TestServer } from "./_testing/server.ts";

const AWS = "/usr/bin/aws";

interface Cli {
  run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  ok(...args: string[]): Promise<string>;
  dir: string;
  server: TestServer;
}

async function withCli(fn: (cli: Cli) => Promise<void>, config: Record<string, string> = {}) {
  const h = createHarness();
  const server = await serveHarness(h);
  const dir = await Deno.makeTempDir({ prefix: "gateway-awscli-" });
  const env = {
    AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: `${dir}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    HOME: dir,
  };
  const exec = async (args: string[]) => {
    const out = await new Deno.Command(AWS, { args, env, clearEnv: true, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  for (const [k, v] of Object.entries({ "default.s3.addressing_style": "path", ...config })) {
    const r = await exec(["configure", "set", k, v]);
    assert.equal(r.code, 0, r.stderr);
  }
  const cli: Cli = {
    dir,
    server,
    run: (...args) => exec(["--endpoint-url", server.endpoint, ...args]),
    async ok(...args) {
      const r = await cli.run(...args);
      assert.equal(r.code, 0, `aws ${args.join(" ")} failed: ${r.stderr}`);
      return r.stdout;
    },
  };
  try {
    await cli.ok("s3api", "create-bucket", "--bucket", "cli");
    await fn(cli);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function pattern(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 2654435761) >>> 24;
  return out;
}

Deno.test("aws s3api: put/head/get with metadata and content headers, list, delete", async () => {
  await withCli(async (cli) => {
    await Deno.writeTextFile(`${cli.dir}/in.txt`, "from the aws cli");
    await cli.ok(
      "s3api",
      "put-object",
      "--bucket",
      "cli",
      "--key",
      "docs/a b.txt",
      "--body",
      `${cli.dir}/in.txt`,
      "--content-type",
      "text/plain",
      "--metadata",
      "color=blue",
    );
    const head = JSON.parse(await cli.ok("s3api", "head-object", "--bucket", "cli", "--key", "docs/a b.txt"));
    assert.equal(head.ContentLength, 16);
    assert.equal(head.ContentType, "text/plain");
    assert.deepEqual(head.Metadata, { color: "blue" });
    await cli.ok("s3api", "get-object", "--bucket", "cli", "--key", "docs/a b.txt", `${cli.dir}/out.txt`);
    assert.equal(await Deno.readTextFile(`${cli.dir}/out.txt`), "from the aws cli");
    const list = JSON.parse(await cli.ok("s3api", "list-objects-v2", "--bucket", "cli", "--prefix", "docs/"));
    assert.deepEqual(list.Contents.map((o: { Key: string }) => o.Key), ["docs/a b.txt"]);
    const v1 = JSON.parse(await cli.ok("s3api", "list-objects", "--bucket", "cli", "--delimiter", "/"));
    assert.deepEqual(v1.CommonPrefixes, [{ Prefix: "docs/" }]);
    await cli.ok("s3api", "delete-object", "--bucket", "cli", "--key", "docs/a b.txt");
    const r = await cli.run("s3api", "head-object", "--bucket", "cli", "--key", "docs/a b.txt");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /404/);
  });
});

Deno.test("aws s3 cp: multipart upload and ranged multi-part download of a 20 MiB file, then rm --recursive", async () => {
  await withCli(async (cli) => {
    const data = pattern(20 * 1024 * 1024 + 17);
    await Deno.writeFile(`${cli.dir}/big.bin`, data);
    await cli.ok("s3", "cp", `${cli.dir}/big.bin`, "s3://cli/backups/big.bin");
    const head = JSON.parse(await cli.ok("s3api", "head-object", "--bucket", "cli", "--key", "backups/big.bin"));
    assert.match(head.ETag, /-3"$/, "8 MiB default chunk size gives three parts");
    await cli.ok("s3", "cp", "s3://cli/backups/big.bin", `${cli.dir}/back.bin`);
    assert.deepEqual(await Deno.readFile(`${cli.dir}/back.bin`), data);
    await cli.ok("s3", "cp", `${cli.dir}/back.bin`, "s3://cli/backups/copy.bin");
    assert.match(await cli.ok("s3", "ls", "s3://cli/backups/"), /copy\.bin/);
    await cli.ok("s3", "rm", "--recursive", "s3://cli/backups/");
    const list = JSON.parse(await cli.ok("s3api", "list-objects-v2", "--bucket", "cli") || "{}");
    assert.equal(list.KeyCount ?? 0, 0);
  });
});

Deno.test("aws s3api head-object/get-object --part-number read one part of a multipart upload; get-object-attributes counts the parts; a copy is one part", async () => {
  await withCli(async (cli) => {
    const data = pattern(20 * 1024 * 1024 + 17);
    await Deno.writeFile(`${cli.dir}/big.bin`, data);
    await cli.ok("s3", "cp", `${cli.dir}/big.bin`, "s3://cli/big.bin"); // 8 MiB parts: 8, 8 and 4 MiB + 17
    const part = 8 * 1024 * 1024;
    const head = JSON.parse(
      await cli.ok("s3api", "head-object", "--bucket", "cli", "--key", "big.bin", "--part-number", "2"),
    );
    assert.deepEqual([head.PartsCount, head.ContentLength], [3, part]);
    const got = JSON.parse(
      await cli.ok("s3api", "get-object", "--bucket", "cli", "--key", "big.bin", "--part-number", "3", `${cli.dir}/p3`),
    );
    assert.equal(got.ContentRange, `bytes ${2 * part}-${data.byteLength - 1}/${data.byteLength}`);
    assert.deepEqual(await Deno.readFile(`${cli.dir}/p3`), data.subarray(2 * part));
    const beyond = await cli.run(
      "s3api",
      "get-object",
      "--bucket",
      "cli",
      "--key",
      "big.bin",
      "--part-number",
      "4",
      "x",
    );
    assert.match(beyond.stderr, /InvalidPartNumber/);
    const attributes = JSON.parse(
      await cli.ok(
        "s3api",
        "get-object-attributes",
        "--bucket",
        "cli",
        "--key",
        "big.bin",
        "--object-attributes",
        "ETag",
        "ObjectSize",
        "ObjectParts",
        "StorageClass",
      ),
    );
    assert.deepEqual(
      [attributes.ETag, attributes.ObjectSize, attributes.ObjectParts.TotalPartsCount, attributes.StorageClass],
      [head.ETag.replaceAll('"', ""), data.byteLength, 3, "STANDARD"],
    );
    // As S3: a copy is one part, with the MD5 of its bytes as ETag.
    const copy = JSON.parse(
      await cli.ok("s3api", "copy-object", "--bucket", "cli", "--key", "copy.bin", "--copy-source", "cli/big.bin"),
    );
    assert.equal(copy.CopyObjectResult.ETag, `"${createHash("md5").update(data).digest("hex")}"`);
  });
});

Deno.test("aws s3api: versions of an unversioned bucket, and its settings read as never configured", async () => {
  await withCli(async (cli) => {
    await Deno.writeTextFile(`${cli.dir}/f`, "versioned?");
    for (const k of ["v/a", "v/b", "v/c"]) {
      await cli.ok("s3api", "put-object", "--bucket", "cli", "--key", k, "--body", `${cli.dir}/f`);
    }
    assert.equal((await cli.ok("s3api", "get-bucket-versioning", "--bucket", "cli")).trim(), "");
    // --page-size 2: the CLI follows NextKeyMarker / NextVersionIdMarker over two pages.
    const versions = JSON.parse(
      await cli.ok("s3api", "list-object-versions", "--bucket", "cli", "--prefix", "v/", "--page-size", "2"),
    );
    assert.deepEqual(
      versions.Versions.map((
        v: { Key: string; VersionId: string; IsLatest: boolean },
      ) => [v.Key, v.VersionId, v.IsLatest]),
      [["v/a", "null", true], ["v/b", "null", true], ["v/c", "null", true]],
    );
    const got = JSON.parse(
      await cli.ok("s3api", "get-object", "--bucket", "cli", "--key", "v/a", "--version-id", "null", `${cli.dir}/out`),
    );
    assert.equal(got.VersionId, "null");
    const old = await cli.run("s3api", "delete-object", "--bucket", "cli", "--key", "v/a", "--version-id", "3sL4kq");
    assert.match(old.stderr, /NoSuchVersion/);
    await cli.ok("s3api", "head-object", "--bucket", "cli", "--key", "v/a");
    await cli.ok("s3api", "delete-object", "--bucket", "cli", "--key", "v/a", "--version-id", "null");
    assert.match((await cli.run("s3api", "head-object", "--bucket", "cli", "--key", "v/a")).stderr, /404/);

    const acl = JSON.parse(await cli.ok("s3api", "get-bucket-acl", "--bucket", "cli"));
    assert.deepEqual([acl.Owner.ID, acl.Grants[0].Permission, acl.Grants[0].Grantee.Type], [
      "s3plugin",
      "FULL_CONTROL",
      "CanonicalUser",
    ]);
    const objectAcl = JSON.parse(await cli.ok("s3api", "get-object-acl", "--bucket", "cli", "--key", "v/b"));
    assert.equal(objectAcl.Grants[0].Permission, "FULL_CONTROL");
    const tags = JSON.parse(await cli.ok("s3api", "get-object-tagging", "--bucket", "cli", "--key", "v/b"));
    assert.deepEqual(tags.TagSet, []);
    const block = JSON.parse(await cli.ok("s3api", "get-public-access-block", "--bucket", "cli"));
    assert.equal(block.PublicAccessBlockConfiguration.BlockPublicAcls, true);
    const status = JSON.parse(await cli.ok("s3api", "get-bucket-policy-status", "--bucket", "cli"));
    assert.equal(status.PolicyStatus.IsPublic, false);
    // Hardening a bucket to the state it has succeeds; loosening it is refused.
    const blocked = "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true";
    await cli.ok("s3api", "put-public-access-block", "--bucket", "cli", "--public-access-block-configuration", blocked);
    await cli.ok(
      "s3api",
      "put-bucket-ownership-controls",
      "--bucket",
      "cli",
      "--ownership-controls",
      "Rules=[{ObjectOwnership=BucketOwnerEnforced}]",
    );
    const loosened = await cli.run(
      "s3api",
      "put-public-access-block",
      "--bucket",
      "cli",
      "--public-access-block-configuration",
      blocked.replace("BlockPublicAcls=true", "BlockPublicAcls=false"),
    );
    assert.match(loosened.stderr, /NotImplemented/);
    const unset: [string, string][] = [
      ["get-bucket-tagging", "NoSuchTagSet"],
      ["get-bucket-policy", "NoSuchBucketPolicy"],
      ["get-bucket-encryption", "ServerSideEncryptionConfigurationNotFoundError"],
    ];
    for (const [command, code] of unset) {
      assert.match((await cli.run("s3api", command, "--bucket", "cli")).stderr, new RegExp(code), command);
    }
  });
});

Deno.test("aws s3api put-bucket-cors, get-bucket-cors and delete-bucket-cors; a refused rule keeps the old ones", async () => {
  await withCli(async (cli) => {
    const missing = await cli.run("s3api", "get-bucket-cors", "--bucket", "cli");
    assert.match(missing.stderr, /NoSuchCORSConfiguration/);
    const config = {
      CORSRules: [
        {
          ID: "console",
          AllowedOrigins: ["https://pve.example:8006"],
          AllowedMethods: ["GET", "PUT", "POST"],
          AllowedHeaders: ["*"],
          ExposeHeaders: ["ETag", "x-amz-request-id"],
          MaxAgeSeconds: 3000,
        },
        { AllowedOrigins: ["*"], AllowedMethods: ["GET"] },
      ],
    };
    await cli.ok("s3api", "put-bucket-cors", "--bucket", "cli", "--cors-configuration", JSON.stringify(config));
    const got = JSON.parse(await cli.ok("s3api", "get-bucket-cors", "--bucket", "cli"));
    assert.deepEqual(got.CORSRules, config.CORSRules);
    const bad = { CORSRules: [{ AllowedOrigins: ["*"], AllowedMethods: ["PATCH"] }] };
    const refused = await cli.run(
      "s3api",
      "put-bucket-cors",
      "--bucket",
      "cli",
      "--cors-configuration",
      JSON.stringify(bad),
    );
    assert.match(refused.stderr, /InvalidRequest.*PATCH/s);
    assert.deepEqual(
      JSON.parse(await cli.ok("s3api", "get-bucket-cors", "--bucket", "cli")).CORSRules,
      config.CORSRules,
    );
    await cli.ok("s3api", "delete-bucket-cors", "--bucket", "cli");
    assert.match((await cli.run("s3api", "get-bucket-cors", "--bucket", "cli")).stderr, /NoSuchCORSConfiguration/);
  });
});

Deno.test("aws s3api put-bucket-lifecycle-configuration, get and delete-bucket-lifecycle round-trip; head-object shows the expiration", async () => {
  await withCli(async (cli) => {
    assert.match(
      (await cli.run("s3api", "get-bucket-lifecycle-configuration", "--bucket", "cli")).stderr,
      /NoSuchLifecycleConfiguration/,
    );
    const rules = [
      {
        ID: "vzdump",
        Filter: { Prefix: "dump/" },
        Status: "Enabled",
        Expiration: { Days: 90 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
      },
      {
        ID: "large isos",
        Filter: { And: { Prefix: "template/iso/", ObjectSizeGreaterThan: 1073741824 } },
        Status: "Disabled",
        Expiration: { Date: "2027-01-01T00:00:00+00:00" },
      },
    ];
    await cli.ok(
      "s3api",
      "put-bucket-lifecycle-configuration",
      "--bucket",
      "cli",
      "--lifecycle-configuration",
      JSON.stringify({ Rules: rules }),
    );
    const got = JSON.parse(await cli.ok("s3api", "get-bucket-lifecycle-configuration", "--bucket", "cli"));
    assert.deepEqual(got.Rules, rules);
    await Deno.writeTextFile(`${cli.dir}/dump`, "backup");
    await cli.ok("s3api", "put-object", "--bucket", "cli", "--key", "dump/a.vma", "--body", `${cli.dir}/dump`);
    const head = JSON.parse(await cli.ok("s3api", "head-object", "--bucket", "cli", "--key", "dump/a.vma"));
    assert.match(head.Expiration, /^expiry-date="[^"]+ 00:00:00 GMT", rule-id="vzdump"$/);
    await cli.ok("s3api", "delete-bucket-lifecycle", "--bucket", "cli");
    assert.match(
      (await cli.run("s3api", "get-bucket-lifecycle-configuration", "--bucket", "cli")).stderr,
      /NoSuchLifecycleConfiguration/,
    );
  });
});

Deno.test("aws s3api put-bucket-tagging, get-bucket-tagging and delete-bucket-tagging; a reserved key is refused", async () => {
  await withCli(async (cli) => {
    const tagging = { TagSet: [{ Key: "owner", Value: "pve-admins" }, { Key: "cluster", Value: "pve1" }] };
    await cli.ok("s3api", "put-bucket-tagging", "--bucket", "cli", "--tagging", JSON.stringify(tagging));
    assert.deepEqual(JSON.parse(await cli.ok("s3api", "get-bucket-tagging", "--bucket", "cli")).TagSet, tagging.TagSet);
    const reserved = { TagSet: [{ Key: "aws:owner", Value: "x" }] };
    const refused = await cli.run(
      "s3api",
      "put-bucket-tagging",
      "--bucket",
      "cli",
      "--tagging",
      JSON.stringify(reserved),
    );
    assert.match(refused.stderr, /InvalidTag/);
    await cli.ok("s3api", "delete-bucket-tagging", "--bucket", "cli");
    assert.match((await cli.run("s3api", "get-bucket-tagging", "--bucket", "cli")).stderr, /NoSuchTagSet/);
  });
});

Deno.test("aws s3api object tags: put-object --tagging, get/put/delete-object-tagging, get-object's TagCount, copy-object --tagging-directive, create-multipart-upload --tagging", async () => {
  await withCli(async (cli) => {
    await Deno.writeTextFile(`${cli.dir}/f`, "tagged data");
    const object = (key: string) => ["--bucket", "cli", "--key", key];
    const tagsOf = async (key: string) =>
      JSON.parse(await cli.ok("s3api", "get-object-tagging", ...object(key))).TagSet.map(
        (t: { Key: string; Value: string }) => `${t.Key}=${t.Value}`,
      );
    await cli.ok("s3api", "put-object", ...object("t"), "--body", `${cli.dir}/f`, "--tagging", "app=pve&tier=cold");
    assert.deepEqual(await tagsOf("t"), ["app=pve", "tier=cold"]);
    const got = JSON.parse(await cli.ok("s3api", "get-object", ...object("t"), `${cli.dir}/out`));
    assert.equal(got.TagCount, 2);
    const set = { TagSet: [{ Key: "stage", Value: "verified" }] };
    await cli.ok("s3api", "put-object-tagging", ...object("t"), "--tagging", JSON.stringify(set));
    assert.deepEqual(await tagsOf("t"), ["stage=verified"]);
    assert.equal(JSON.parse(await cli.ok("s3api", "head-object", ...object("t"))).ETag, got.ETag);
    await cli.ok("s3api", "copy-object", ...object("c"), "--copy-source", "cli/t");
    assert.deepEqual(await tagsOf("c"), ["stage=verified"]);
    await cli.ok(
      "s3api",
      "copy-object",
      ...object("c"),
      "--copy-source",
      "cli/t",
      "--tagging-directive",
      "REPLACE",
      "--tagging",
      "copied=yes",
    );
    assert.deepEqual(await tagsOf("c"), ["copied=yes"]);
    await cli.ok("s3api", "delete-object-tagging", ...object("t"));
    assert.deepEqual(await tagsOf("t"), []);
    const tooMany = { TagSet: Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: "v" })) };
    const refused = await cli.run("s3api", "put-object-tagging", ...object("t"), "--tagging", JSON.stringify(tooMany));
    assert.match(refused.stderr, /BadRequest/);
    const mpu = JSON.parse(await cli.ok("s3api", "create-multipart-upload", ...object("m"), "--tagging", "via=mpu"));
    const part = JSON.parse(
      await cli.ok(
        "s3api",
        "upload-part",
        ...object("m"),
        "--upload-id",
        mpu.UploadId,
        "--part-number",
        "1",
        "--body",
        `${cli.dir}/f`,
      ),
    );
    const parts = { Parts: [{ PartNumber: 1, ETag: part.ETag }] };
    await cli.ok(
      "s3api",
      "complete-multipart-upload",
      ...object("m"),
      "--upload-id",
      mpu.UploadId,
      "--multipart-upload",
      JSON.stringify(parts),
    );
    assert.deepEqual(await tagsOf("m"), ["via=mpu"]);
  });
});

Deno.test("aws s3 cp --sse, a public --acl and s3api --tagging with a reserved key are refused with S3's errors, storing nothing; --acl private works, as put-bucket-acl and put-object-acl", async () => {
  await withCli(async (cli) => {
    await Deno.writeTextFile(`${cli.dir}/f`, "secret?");
    let r = await cli.run("s3", "cp", `${cli.dir}/f`, "s3://cli/enc", "--sse", "AES256");
    assert.match(r.stderr, /NotImplemented/);
    r = await cli.run("s3", "cp", `${cli.dir}/f`, "s3://cli/pub", "--acl", "public-read");
    assert.match(r.stderr, /AccessControlListNotSupported/);
    r = await cli.run("s3api", "put-object", "--bucket", "cli", "--key", "tagged", "--tagging", "aws:owner=me");
    assert.match(r.stderr, /InvalidTag/);
    await cli.ok("s3", "cp", `${cli.dir}/f`, "s3://cli/private", "--acl", "private");
    const listed = JSON.parse(await cli.ok("s3api", "list-objects-v2", "--bucket", "cli"));
    assert.deepEqual(listed.Contents.map((o: { Key: string }) => o.Key), ["private"]);
    // Setting an ACL: the owner's full control alone is what every bucket and object has; sharing is refused.
    await cli.ok("s3api", "put-bucket-acl", "--bucket", "cli", "--acl", "private");
    await cli.ok(
      "s3api",
      "put-object-acl",
      "--bucket",
      "cli",
      "--key",
      "private",
      "--acl",
      "bucket-owner-full-control",
    );
    r = await cli.run("s3api", "put-object-acl", "--bucket", "cli", "--key", "private", "--acl", "public-read");
    assert.match(r.stderr, /AccessControlListNotSupported/);
    r = await cli.run(
      "s3api",
      "put-bucket-acl",
      "--bucket",
      "cli",
      "--grant-read",
      "uri=http://acs.amazonaws.com/groups/global/AllUsers",
    );
    assert.match(r.stderr, /AccessControlListNotSupported/);
  });
});

Deno.test("aws s3api with payload signing enabled sends a signed SHA-256 payload that is verified", async () => {
  await withCli(async (cli) => {
    await Deno.writeFile(`${cli.dir}/signed.bin`, pattern(100_000));
    await cli.ok("s3api", "put-object", "--bucket", "cli", "--key", "signed.bin", "--body", `${cli.dir}/signed.bin`);
    const sent = cli.server.seen[cli.server.seen.length - 1]!;
    assert.match(sent.get("x-amz-content-sha256") ?? "", /^[0-9a-f]{64}$/);
    await cli.ok("s3api", "get-object", "--bucket", "cli", "--key", "signed.bin", `${cli.dir}/back.bin`);
    assert.deepEqual(await Deno.readFile(`${cli.dir}/back.bin`), pattern(100_000));
  }, { "default.s3.payload_signing_enabled": "true" });
});

Deno.test("aws s3api reports S3 error codes: NoSuchKey, NoSuchBucket, BucketNotEmpty, NoSuchUpload", async () => {
  await withCli(async (cli) => {
    let r = await cli.run("s3api", "get-object", "--bucket", "cli", "--key", "nope", `${cli.dir}/x`);
    assert.match(r.stderr, /NoSuchKey/);
    r = await cli.run("s3api", "list-objects-v2", "--bucket", "nobucket");
    assert.match(r.stderr, /NoSuchBucket/);
    await Deno.writeTextFile(`${cli.dir}/f`, "x");
    await cli.ok("s3api", "put-object", "--bucket", "cli", "--key", "f", "--body", `${cli.dir}/f`);
    r = await cli.run("s3api", "delete-bucket", "--bucket", "cli");
    assert.match(r.stderr, /BucketNotEmpty/);
    r = await cli.run("s3api", "abort-multipart-upload", "--bucket", "cli", "--key", "f", "--upload-id", "bogus");
    assert.match(r.stderr, /NoSuchUpload/);
  });
});

Deno.test("aws s3 rb --force removes a bucket whose failed upload left a multipart upload in progress", async () => {
  await withCli(async (cli) => {
    await Deno.writeTextFile(`${cli.dir}/f`, "x");
    await cli.ok("s3api", "put-object", "--bucket", "cli", "--key", "f", "--body", `${cli.dir}/f`);
    await cli.ok("s3api", "create-multipart-upload", "--bucket", "cli", "--key", "interrupted.vma.zst");
    // rb --force deletes the objects, then the bucket: the upload in progress goes with it, as in S3.
    await cli.ok("s3", "rb", "--force", "s3://cli");
    const r = await cli.run("s3api", "list-multipart-uploads", "--bucket", "cli");
    assert.match(r.stderr, /NoSuchBucket/);
  });
});
