// The AWS SDKs for Go, v1 (aws-sdk-go) and v2 (aws-sdk-go-v2), as Debian packages them: two more SigV4
// implementations and Go's HTTP client, behind many S3 tools (backup operators, Terraform providers, exporters).
// Each program (go_sdk/v1, go_sdk/v2) drives puts (an empty one, a checksummed one, one sent with Expect:
// 100-continue), its SDK's multipart uploader and parallel ranged downloader, a copy, a presigned GET, a paginated
// listing and a batch delete, and prints what it saw; once over HTTP, once over HTTPS, where Go speaks HTTP/2.
import assert from "node:assert/strict";
import { join } from "node:path";
import { selfSignedCertificate } from "../../src/_testing/certificate.ts";
import { awsEnv, run, type RunningAppliance, withAppliance } from "./_appliance.ts";

const SOURCES = new URL("./go_sdk/", import.meta.url).pathname;

/** Builds the program in go_sdk/<name> into `dir` from Debian's Go sources (no module download). */
async function build(name: string, dir: string): Promise<string> {
  const binary = join(dir, name);
  await run("/usr/bin/go", ["build", "-o", binary, join(SOURCES, name, "main.go")], {
    env: { GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: join(dir, "go-cache"), HOME: dir },
  });
  return binary;
}

/** Runs both programs against `app` (with `env` added) and checks what each saw; returns their standard errors. */
async function drive(app: RunningAppliance, scratch: string, binaries: string[], env: Record<string, string> = {}) {
  const [v1, v2] = binaries;
  const base = { ...awsEnv(app, scratch), ENDPOINT: app.s3, BUCKET: app.creds.bucket, ...env };
  const one = await run(v1!, [], { env: base });
  assert.deepEqual(JSON.parse(one.stdout), {
    small: ["hello from go v1", "ops"],
    big: [13 * 1024 * 1024 + 3, true],
    presigned: "hello from go v1",
    keys: ["go/v1/big.bin", "go/v1/empty", "go/v1/expect.bin", "go/v1/small.txt"],
    missing: true,
  });
  const two = await run(v2!, [], { env: base });
  const seen = JSON.parse(two.stdout);
  assert.deepEqual(seen, {
    small: ["hello from go v2", "ops", "text/plain", true],
    range: "from",
    big: [17 * 1024 * 1024 + 5, true],
    big_etag: seen.big_etag,
    presigned: "hello from go v2",
    keys: ["go/v2/big.bin", "go/v2/copy.txt", "go/v2/empty", "go/v2/small.txt"],
    deleted: 4,
    missing: true,
  });
  assert.match(seen.big_etag, /^"[0-9a-f]{32}-4"$/, "four 5 MiB parts");
  return [one.stderr, two.stderr];
}

Deno.test("AWS SDK for Go v1 and v2: puts, multipart uploader, ranged parallel downloader, copy, presigned GET, paginated listing, batch delete; over HTTP and over HTTPS (HTTP/2)", async () => {
  const binaries = await Deno.makeTempDir({ prefix: "s3plugin-go-sdk-" });
  try {
    const built = await Promise.all([build("v1", binaries), build("v2", binaries)]);
    await withAppliance((app, scratch) => drive(app, scratch, built).then(() => {}));

    const certs = await selfSignedCertificate(binaries, "gateway", { subjectAltName: "IP:127.0.0.1" });
    await withAppliance(async (app, scratch) => {
      assert.match(app.s3, /^https:/);
      // v1 takes the CA bundle from AWS_CA_BUNDLE, v2 (built without the shared config) from Go's SSL_CERT_FILE.
      const trust = { AWS_CA_BUNDLE: certs.certFile, SSL_CERT_FILE: certs.certFile, GODEBUG: "http2debug=1" };
      for (const stderr of await drive(app, scratch, built, trust)) {
        assert.match(stderr, /http2: Transport encoding header ":authority"/, "Go chose HTTP/2 over TLS");
      }
    }, { env: { S3PLUGIN_S3_TLS_CERT: certs.certFile, S3PLUGIN_S3_TLS_KEY: certs.keyFile } });
  } finally {
    await Deno.remove(binaries, { recursive: true });
  }
});
