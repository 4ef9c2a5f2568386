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
import { systemClock } from "../clock.ts";
import { createDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { createAccessKeyStore } from "../db/repos/access_keys.ts";
import { createEventBus, type OperationEvent } from "../events/mod.ts";
import { silentLogger } from "../log.ts";
import { createSecretBox } from "../secret_box.ts";
import { createMemoryStore } from "../storage/memory.ts";
import { createGateway } from "./mod.ts";

Deno.test("gateway with database access keys: admin and granted keys sign in; grants restrict; deleted keys are refused", async () => {
  const handle = createDb(":memory:");
  await migrateDb(handle);
  const keys = createAccessKeyStore({
    db: handle.db,
    sealer: await createSecretBox({ key: crypto.getRandomValues(new Uint8Array(32)) }),
    clock: systemClock(),
  });
  const admin = await keys.create({ description: "admin", admin: true, grants: [] });
  const user = await keys.create({
    description: "user",
    admin: false,
    grants: [{ bucket: "data", prefix: "u1/", permission: "write" }],
  });
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
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  const mk = (k: { info: { accessKeyId: string }; secretAccessKey: string }) =>
    new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: k.info.accessKeyId, secretAccessKey: k.secretAccessKey },
    });
  const a = mk(admin);
  const u = mk(user);
  const code = (p: Promise<unknown>) =>
    p.then(() => "ok", (e) => (e instanceof S3ServiceException ? e.name : String(e)));
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
    a.destroy();
    u.destroy();
    await server.shutdown();
    handle.close();
  }
});
