/**
 * The ObjectStore contract for the `s3` backend against a real Ceph RADOS Gateway (one-node cluster in RAM,
 * started by ../shared/tools/radosgw/start.sh, stopped by stop.sh). Needs root and the ceph packages
 * (installed by start.sh / .ci/run). Ceph's monitor uses fixed ports 3300/6789, so only one lab runs at a time.
 */
import assert from "node:assert/strict";
import { createS3Store, type S3StoreOptions } from "../../src/storage/s3.ts";
import { testConnection } from "../../src/storage/factory.ts";
import { objectStoreContract } from "../../src/storage/_testing/object_store_contract.ts";
import { bytes, getBytes, rejectsWithCode, streamOf } from "../../src/storage/_testing/contract_helpers.ts";

const tools = new URL("../../../shared/tools/radosgw/", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function script(name: string, env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command("bash", { args: [`${tools}${name}`], env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${name} failed (exit ${out.code}):\n${text}`);
  return text;
}

let rgw: S3StoreOptions | undefined;

objectStoreContract("s3 → Ceph RGW", async () => {
  const lab = await Deno.makeTempDir({ prefix: "rgw-contract-" });
  const env = { CEPH_LAB: `${lab}/lab`, RGW_PORT: String(freePort()), MEMSTORE_GB: "2" };
  try {
    await script("start.sh", env);
  } catch (err) {
    await script("stop.sh", env).catch(() => {});
    await Deno.remove(lab, { recursive: true });
    throw err;
  }
  rgw = {
    endpoint: `http://127.0.0.1:${env.RGW_PORT}`,
    region: "us-east-1",
    forcePathStyle: true,
    accessKeyId: "RGWTESTACCESSKEY0001",
    secretAccessKey: "rgw-test-secret-key-0001-xxxxxxxxxxxxxxxx",
    bucketPrefix: "s3p-",
  };
  const store = createS3Store(rgw);
  return {
    store,
    cleanup: async () => {
      await script("stop.sh", env);
      await Deno.remove(lab, { recursive: true });
    },
  };
}, {
  extraCases: [{
    name: "unknown-length uploads over one part go multipart with bounded memory; a failure mid-way leaves nothing",
    async fn({ store, bucket }) {
      const data = bytes(40 * 1024 * 1024, 77);
      const info = await store.putObject(bucket, "big-unknown", streamOf(data, 256 * 1024));
      assert.match(info.etag, /^"[0-9a-f]{32}-3"$/, "16 MiB parts");
      assert.equal(info.size, data.byteLength);
      assert.deepEqual(await getBytes(store, bucket, "big-unknown"), data);
      const cut = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data.subarray(0, 20 * 1024 * 1024));
          controller.error(new Error("client went away"));
        },
      });
      await assert.rejects(store.putObject(bucket, "cut-unknown", cut));
      await rejectsWithCode(store.headObject(bucket, "cut-unknown"), "NoSuchKey");
      assert.deepEqual((await store.listMultipartUploads(bucket)).uploads, [], "the partial upload was aborted");
    },
  }, {
    name: "wrong credentials are Unauthorized; bucketPrefix maps bucket names",
    async fn({ store, bucket }) {
      const wrong = createS3Store({ ...rgw!, secretAccessKey: "not-the-secret" });
      const result = await testConnection(wrong);
      assert.equal(!result.ok && result.error.code, "Unauthorized", JSON.stringify(result));
      await wrong.close();
      const raw = createS3Store({ ...rgw!, bucketPrefix: "" });
      assert.ok((await raw.listBuckets()).some((b) => b.name === `s3p-${bucket}`));
      await raw.close();
      assert.ok((await store.listBuckets()).some((b) => b.name === bucket));
    },
  }],
  deviations: {
    checksumsNotStored: "Ceph RGW 16 (Pacific) ignores x-amz-checksum-* headers",
    completeRequiresAllParts:
      "Ceph RGW 16 rejects a CompleteMultipartUpload that leaves out uploaded parts ('total parts mismatch' → InvalidPart)",
  },
});
