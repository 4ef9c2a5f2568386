import assert from "node:assert/strict";
import S3rver from "s3rver";
import { createStore, testConnection, validateStoreConfig } from "./factory.ts";
import { getBytes, put, rejectsWithCode } from "./_testing/contract_helpers.ts";

const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

Deno.test("validateStoreConfig() names every bad field and never echoes values", () => {
  assert.throws(() => validateStoreConfig("ceph", {}), /Unknown backend kind "ceph"/);
  assert.throws(() => validateStoreConfig("fs", []), /must be a JSON object/);
  assert.throws(() => validateStoreConfig("fs", { root: "relative/dir" }), /"root" must be an absolute path/);
  assert.throws(() => validateStoreConfig("fs", { root: "/x", roots: "/y" }), /unknown field "roots"/);
  for (const minFreeBytes of [-1, 1.5, "1G", null]) {
    assert.throws(
      () => validateStoreConfig("fs", { root: "/x", minFreeBytes }),
      /"minFreeBytes" must be an integer from 0 to/,
    );
  }
  assert.deepEqual(validateStoreConfig("fs", { root: "/x", minFreeBytes: 0 }), { root: "/x", minFreeBytes: 0 });
  try {
    validateStoreConfig("s3", {
      endpoint: "ftp://host",
      secretAccessKey: 98765,
      partSize: 1024,
      caCert: "not pem",
      bucketPrefix: "UPPER",
      forcePathStyle: "yes",
    });
    assert.fail("accepted a bad config");
  } catch (err) {
    const message = (err as Error).message;
    for (
      const part of [
        '"endpoint" must be an http:// or https:// URL',
        '"secretAccessKey" must be a non-empty string',
        '"partSize" must be an integer from 5242880',
        '"caCert" must be PEM text',
        '"bucketPrefix" must be',
        '"forcePathStyle" must be true or false',
        '"region" is required',
        '"accessKeyId" is required',
      ]
    ) assert.ok(message.includes(part), `${part} in: ${message}`);
    assert.ok(!message.includes("98765") && !message.includes("not pem"), "values are not echoed");
  }
  const ok = { endpoint: "https://s3.example.com", region: "eu-west-1", accessKeyId: "a", secretAccessKey: "b" };
  assert.deepEqual(validateStoreConfig("s3", ok), ok);
});

Deno.test("createStore() refuses an unknown kind even when its config would pass as s3", async () => {
  const s3Like = { region: "us-east-1", accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };
  await assert.rejects(() => createStore("ceph", s3Like), /Unknown backend kind "ceph"/);
});

Deno.test("createStore('fs') builds a working store from JSON config", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = await createStore("fs", JSON.parse(JSON.stringify({ root })));
    await store.createBucket("from-config");
    await put(store, "from-config", "k", "v");
    assert.equal(new TextDecoder().decode(await getBytes(store, "from-config", "k")), "v");
    assert.deepEqual(await testConnection(store).then((r) => [r.ok, r.ok && r.buckets]), [true, 1]);
    await store.close();
    await rejectsWithCode(createStore("fs", { root: "nope" }), "InvalidArgument");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A private CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCertificates(dir: string) {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Test CA",
  ], dir);
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ], dir);
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1\n");
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ], dir);
  return {
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    cert: await Deno.readTextFile(`${dir}/server.pem`),
    key: await Deno.readTextFile(`${dir}/server.key`),
  };
}

/**
 * A TLS front (native Deno TLS) forwarding to a plain-HTTP server. s3rver's own HTTPS mode is unreliable under
 * Deno's node compatibility layer; bodies are buffered because s3rver does not accept chunked uploads.
 */
function tlsProxy(cert: string, key: string, target: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, cert, key, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.body ? await req.arrayBuffer() : undefined,
      redirect: "manual",
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  });
}

Deno.test("createStore('s3') over HTTPS trusts a private CA only when given caCert; testConnection reports why", async () => {
  const dir = await Deno.makeTempDir();
  const { ca, cert, key } = await makeCertificates(dir);
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir });
  const { port } = await server.run();
  const proxy = tlsProxy(cert, key, `http://127.0.0.1:${port}`);
  const base = {
    endpoint: `https://127.0.0.1:${proxy.addr.port}`,
    region: "us-east-1",
    forcePathStyle: true,
    maxAttempts: 1,
  };
  const stores = [];
  try {
    const trusted = await createStore("s3", { ...base, ...S3RVER_KEYS, caCert: ca });
    const untrusted = await createStore("s3", { ...base, ...S3RVER_KEYS });
    const closed = await createStore("s3", {
      ...base,
      ...S3RVER_KEYS,
      endpoint: "http://127.0.0.1:1",
      connectTimeoutMs: 2000,
    });
    stores.push(trusted, untrusted, closed);

    await trusted.createBucket("tls");
    await trusted.putObject("tls", "k", ReadableStream.from([new TextEncoder().encode("over tls")]), {
      contentLength: 8,
    });
    assert.equal(new TextDecoder().decode(await getBytes(trusted, "tls", "k")), "over tls");
    const ok = await testConnection(trusted);
    assert.ok(ok.ok && ok.buckets === 1, JSON.stringify(ok));

    const results = { untrusted: await testConnection(untrusted), closed: await testConnection(closed) };
    assert.ok(
      !results.untrusted.ok && /certificate.*caCert/i.test(results.untrusted.error.message),
      JSON.stringify(results.untrusted),
    );
    assert.equal(!results.untrusted.ok && results.untrusted.error.code, "Unavailable");
    assert.deepEqual(!results.closed.ok && results.closed.error.code, "Unavailable", JSON.stringify(results.closed));
    await trusted.deleteObject("tls", "k");
    await trusted.deleteBucket("tls");
  } finally {
    for (const s of stores) await s.close();
    await proxy.shutdown();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
