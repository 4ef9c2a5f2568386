/**
 * S3 Integrity end to end: the appliance as operators run it (`src/main.ts serve`, fs backend), real S3 traffic
 * from @aws-sdk/client-s3 (simple and multipart uploads, copies, deletes, a denied request), then the operator's
 * `integrity` commands, out-of-band changes made in the fs backend while the appliance is down, a tampered
 * database, and an export checked by the stand-alone verifier in its own process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createFsStore } from "../../src/storage/fs.ts";
import { runCli } from "../../src/integrity/cli.ts";
import { type RunningAppliance, sdkClient, startAppliance } from "../e2e/_appliance.ts";

const VERIFIER = new URL("../../src/integrity/standalone_verify.ts", import.meta.url).pathname;

async function cli(app: RunningAppliance, ...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(args, { url: app.api, token: app.creds.apiToken }, { print: (t) => lines.push(t) });
  return { code, out: lines.join("\n") };
}

async function records(app: RunningAppliance): Promise<{ op: string; key?: string; status: number; actor: string }[]> {
  const res = await fetch(`${app.api}/api/v1/integrity/records?from=0&limit=1000`, {
    headers: { authorization: `Bearer ${app.creds.apiToken}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).records.map((r: { record: unknown }) => r.record);
}

Deno.test("integrity journals real S3 traffic through the appliance and catches out-of-band changes and tampering", async () => {
  let app = await startAppliance();
  const dataDir = app.dataDir;
  const bucket = app.creds.bucket;
  const scratch = await Deno.makeTempDir({ prefix: "integrity-e2e-" });
  try {
    const s3 = sdkClient(app);
    for (const k of ["a.txt", "b.txt", "c.txt"]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `content of ${k}` }));
    }
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy.txt", CopySource: `${bucket}/a.txt` }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "c.txt" }));
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy2.txt", CopySource: `${bucket}/b.txt` }));
    await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "copy.txt" }, { Key: "copy2.txt" }] } }),
    );
    const big = new Uint8Array(11 * 1024 * 1024).map((_, i) => i & 0xff);
    await new Upload({ client: s3, params: { Bucket: bucket, Key: "big.bin", Body: big }, partSize: 5 * 1024 * 1024 })
      .done();
    await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "a.txt" }))).Body!.transformToString();
    const intruder = new S3Client({
      endpoint: app.s3,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: app.creds.accessKeyId, secretAccessKey: "wrong-secret" },
      maxAttempts: 1,
    });
    await assert.rejects(intruder.send(new PutObjectCommand({ Bucket: bucket, Key: "x", Body: "x" })));
    intruder.destroy();
    s3.destroy();

    const journal = await records(app);
    const ops = journal.map((r) => `${r.op} ${r.key ?? ""} ${r.status}`.trim());
    for (
      const expected of [
        "PutObject a.txt 200",
        "CopyObject copy.txt 200",
        "DeleteObject c.txt 204",
        "DeleteObjects copy.txt 200",
        "DeleteObjects copy2.txt 200",
      ]
    ) {
      assert.ok(ops.includes(expected), `${expected} in ${ops.join(", ")}`);
    }
    assert.ok(ops.some((o) => /^CompleteMultipartUpload big\.bin 200$/.test(o)), ops.join(", "));
    assert.ok(ops.filter((o) => o.startsWith("UploadPart big.bin")).length >= 3);
    assert.ok(journal.some((r) => r.op === "PutObject" && r.key === "x" && r.status === 403), "denied PUT journaled");
    assert.ok(!ops.some((o) => o.startsWith("GetObject")), "successful reads are not journaled by default");

    assert.equal((await cli(app, "checkpoint")).code, 0);
    const proof = await cli(app, "proof", "2");
    assert.equal(proof.code, 0, proof.out);
    assert.match(proof.out, /VERIFIED against the signed checkpoint/);
    const verified = await cli(app, "verify");
    assert.equal(verified.code, 0, verified.out);
    const clean = await cli(app, "reconcile", bucket, "--json");
    assert.equal(clean.code, 0, clean.out);
    assert.equal(JSON.parse(clean.out).expectedObjects, 3, "a.txt, b.txt, big.bin");

    // Out-of-band: with the appliance down, change the fs backend directly.
    assert.equal(await app.stop(), 0);
    const fs = await createFsStore({ root: join(dataDir, "objects") });
    await fs.putObject(bucket, "a.txt", new Blob(["rewritten on disk"]).stream());
    await fs.deleteObject(bucket, "b.txt");
    await fs.putObject(bucket, "planted.txt", new Blob(["planted"]).stream());
    await fs.close();
    app = await startAppliance({ dataDir });
    const rec = await cli(app, "reconcile", bucket, "--json");
    assert.equal(rec.code, 1, rec.out);
    const anomalies = JSON.parse(rec.out).anomalies.map((a: { op: string; key: string }) => `${a.op} ${a.key}`);
    assert.deepEqual(anomalies, ["ObservedModify a.txt", "ObservedDelete b.txt", "ObservedCreate planted.txt"]);
    assert.equal((await cli(app, "verify")).code, 0, "anomaly records keep the chain valid");

    const exportDir = join(scratch, "export");
    assert.equal((await cli(app, "export", exportDir)).code, 0);
    const standalone = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", `--allow-read=${exportDir}`, VERIFIER, exportDir],
      stdout: "piped",
    }).output();
    assert.equal(standalone.code, 0, new TextDecoder().decode(standalone.stdout));

    // Tamper with the database while the appliance is down: rewrite who did record 1.
    assert.equal(await app.stop(), 0);
    const sqlite = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        `import sqlite3; c = sqlite3.connect(${JSON.stringify(join(dataDir, "s3plugin.db"))}); ` +
        `c.execute("UPDATE integrity_records SET data = replace(data, '\\"status\\":200', '\\"status\\":500') WHERE seq = 1"); ` +
        `c.commit()`,
      ],
    }).output();
    assert.equal(sqlite.code, 0, new TextDecoder().decode(sqlite.stderr));
    app = await startAppliance({ dataDir });
    const tampered = await cli(app, "verify", "--json");
    assert.equal(tampered.code, 1, tampered.out);
    assert.equal(JSON.parse(tampered.out).firstBadSeq, 1);
  } finally {
    await app.stop();
    await Deno.remove(scratch, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});
