// The gateway over the appliance's database-backed access keys (sealed secrets, grants), driven by the AWS SDK.
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { type Clock, fakeClock, systemClock } from "../clock.ts";
import { createDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { type AccessKeyStore, createAccessKeyStore } from "../db/repos/access_keys.ts";
import { createEventBus, type OperationEvent } from "../events/mod.ts";
import { silentLogger } from "../log.ts";
import { createSecretBox } from "../secret_box.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createGateway } from "./mod.ts";

type Key = { info: { accessKeyId: string }; secretAccessKey: string };

/** A gateway over a memory store, signing in with `keys`; `client(key)` is an SDK client of it (no retries). */
function gatewayOver(keys: AccessKeyStore) {
  const gateway = createGateway({
    buckets: createMemoryStore(),
    credentials: keys.credentials,
    events: createEventBus<OperationEvent>(),
    clock: systemClock(),
    logger: silentLogger(),
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
  );
  const clients: S3Client[] = [];
  return {
    client(k: Key) {
      const client = new S3Client({
        endpoint: `http://127.0.0.1:${server.addr.port}`,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: k.info.accessKeyId, secretAccessKey: k.secretAccessKey },
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
    async close() {
      clients.forEach((c) => c.destroy());
      await server.shutdown();
    },
  };
}

const code = (p: Promise<unknown>) => p.then(() => "ok", (e) => (e instanceof S3ServiceException ? e.name : String(e)));

async function keyStore(clock: Clock) {
  const handle = createDb(":memory:");
  await migrateDb(handle);
  const sealer = await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) });
  return { handle, keys: createAccessKeyStore({ db: handle.db, sealer, clock }) };
}

Deno.test("gateway with database access keys: admin and granted keys sign in; grants restrict; deleted keys are refused", async () => {
  const { handle, keys } = await keyStore(systemClock());
  const admin = await keys.create({ description: "admin", admin: true, grants: [] });
  const user = await keys.create({
    description: "user",
    admin: false,
    grants: [{ bucket: "data", prefix: "u1/", permission: "write" }],
  });
  const gateway = gatewayOver(keys);
  const a = gateway.client(admin);
  const u = gateway.client(user);
  try {
    await a.send(new CreateBucketCommand({ Bucket: "data" }));
    await a.send(new CreateBucketCommand({ Bucket: "hidden" }));
    assert.equal(await code(u.send(new PutObjectCommand({ Bucket: "data", Key: "u1/file", Body: "mine" }))), "ok");
    assert.equal(
      await code(u.send(new PutObjectCommand({ Bucket: "data", Key: "u2/file", Body: "not mine" }))),
      "AccessDenied",
    );
    assert.equal(await code(u.send(new GetObjectCommand({ Bucket: "hidden", Key: "x" }))), "AccessDenied");
    const listed = await u.send(new ListBucketsCommand({}));
    assert.deepEqual(listed.Buckets?.map((b) => b.Name), ["data"]);
    assert.equal(await keys.delete(user.info.accessKeyId), true);
    assert.equal(await code(u.send(new GetObjectCommand({ Bucket: "data", Key: "u1/file" }))), "InvalidAccessKeyId");
  } finally {
    await gateway.close();
    handle.close();
  }
});

Deno.test("keys looked up before go on signing while the database does not answer; others get 503 ServiceUnavailable", async () => {
  const clock = fakeClock(new Date());
  const { handle, keys } = await keyStore(clock);
  const used = await keys.create({ description: "used", admin: true, grants: [] });
  const unused = await keys.create({ description: "unused", admin: true, grants: [] });
  const gateway = gatewayOver(keys);
  try {
    const client = gateway.client(used);
    await client.send(new CreateBucketCommand({ Bucket: "data" }));
    handle.close();
    clock.advance(60 * 60_000);
    await client.send(new PutObjectCommand({ Bucket: "data", Key: "k", Body: "written without the database" }));
    const got = await client.send(new GetObjectCommand({ Bucket: "data", Key: "k" }));
    assert.equal(await got.Body!.transformToString(), "written without the database");

    const refused = await gateway.client(unused).send(new ListBucketsCommand({})).catch((e) => e);
    assert.ok(refused instanceof S3ServiceException, String(refused));
    assert.equal(refused.name, "ServiceUnavailable");
    assert.equal(refused.$metadata.httpStatusCode, 503);
    assert.equal(
      refused.message,
      `Cannot read the access key ${unused.info.accessKeyId}: the database does not answer; try again`,
    );
  } finally {
    await gateway.close();
  }
});
