// The management API's HTTPS listener (--api-tls-cert/--api-tls-key/--api-tls-listen), for clients on other hosts:
// curl (OpenSSL) and the appliance's own CLI (Deno's fetch, rustls) reach it when they trust its certificate, and a
// CLI that does not, or a certificate rustls will not take from a server, gets an error that says what to do.
import assert from "node:assert/strict";
import { join } from "node:path";
import { opensslFingerprint, selfSignedCertificate } from "../../src/_testing/certificate.ts";
import { run, startAppliance, withAppliance } from "./_appliance.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const LOCAL_NAMES = { subjectAltName: "IP:127.0.0.1,DNS:localhost" };

async function apiHttpsAddress(dataDir: string): Promise<string> {
  return JSON.parse(await Deno.readTextFile(join(dataDir, "listen.json"))).apiHttps;
}

/** The CLI as an admin on another host runs it: no data dir of an appliance, the API's URL and token given. */
function remoteCli(url: string, token: string, args: string[], env: Record<string, string> = {}) {
  return run(Deno.execPath(), ["run", "-A", MAIN, ...args, "--api", url, "--token", token], {
    env: { HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1", S3PLUGIN_DATA_DIR: "/nonexistent", ...env },
    allowFailure: true,
  });
}

Deno.test("HTTPS API: curl and the CLI (user, sync, integrity) trust it by --ca-file or S3PLUGIN_API_CA_FILE, refuse it without; /config and /metrics show its certificate", async () => {
  const certDir = await Deno.makeTempDir({ prefix: "s3plugin-api-tls-" });
  try {
    const { certFile, keyFile } = await selfSignedCertificate(certDir, "admin", LOCAL_NAMES);
    await withAppliance(async (app, scratch) => {
      const address = await apiHttpsAddress(app.dataDir);
      assert.match(address, /^127\.0\.0\.1:\d+$/);
      const url = `https://${address}`;

      const curl = (...args: string[]) => run("/usr/bin/curl", ["-sS", "--cacert", certFile, ...args]);
      assert.equal(JSON.parse((await curl(`${url}/api/v1/health`)).stdout).status, "ok");
      const anonymous = await curl("-o", "/dev/null", "-w", "%{http_code}", `${url}/api/v1/buckets`);
      assert.equal(anonymous.stdout, "401", "the token is asked for over HTTPS as over HTTP");
      const buckets = await curl("-H", `authorization: Bearer ${app.creds.apiToken}`, `${url}/api/v1/buckets`);
      assert.deepEqual(JSON.parse(buckets.stdout).map((b: { name: string }) => b.name), [app.creds.bucket]);
      // Plain HTTP on the HTTPS port gets no answer; the loopback plain listener (local CLI and TUI) stays.
      await assert.rejects(fetch(`http://${address}/api/v1/health`).then((r) => r.text()));
      assert.equal(
        (await fetch(`${app.api}/api/v1/health`).then(async (r) => (await r.body?.cancel(), r))).status,
        200,
      );

      const token = app.creds.apiToken;
      const users = await remoteCli(url, token, ["user", "list", "--json", "--ca-file", certFile]);
      assert.equal(users.code, 0, users.stderr);
      assert.ok(JSON.parse(users.stdout).some((k: { accessKeyId: string }) => k.accessKeyId === app.creds.accessKeyId));
      const jobs = await remoteCli(url, token, ["sync", "jobs"], { S3PLUGIN_API_CA_FILE: certFile });
      assert.equal(jobs.code, 0, jobs.stderr);
      assert.deepEqual(JSON.parse(jobs.stdout), { jobs: [] });
      const exported = await remoteCli(url, token, [
        "integrity",
        "export",
        join(scratch, "journal"),
        "--ca-file",
        certFile,
      ]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stdout, /exported \d+ records to /);

      // Without the certificate each client path says how to trust it.
      const untrusted =
        /Cannot reach the appliance API at https:\/\/127\.0\.0\.1:\d+: .*UnknownIssuer.*--ca-file FILE or S3PLUGIN_API_CA_FILE/;
      for (const args of [["user", "list"], ["sync", "jobs"], ["integrity", "export", join(scratch, "again")]]) {
        const refused = await remoteCli(url, token, args);
        assert.notEqual(refused.code, 0, args.join(" "));
        assert.match(refused.stderr + refused.stdout, untrusted, args.join(" "));
      }
      const missing = await remoteCli(url, token, ["user", "list", "--ca-file", join(certDir, "missing.pem")]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read the --ca-file .*missing\.pem/);

      const api = (path: string) => fetch(`${app.api}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const config = await (await api("/api/v1/config")).json();
      assert.equal(config.addresses.apiHttps, address);
      assert.equal(config.apiCertificate.fingerprintSha256, await opensslFingerprint(certFile));
      assert.equal(config.apiCertificate.subject, "CN=admin");
      assert.equal(config.s3Certificate, undefined, "the S3 gateway stays plain HTTP");
      const notAfter = Date.parse(config.apiCertificate.notAfter) / 1000;
      const metrics = await (await api("/metrics")).text();
      assert.match(
        metrics,
        new RegExp(`s3plugin_tls_certificate_not_after_seconds\\{listener="api"\\} ${notAfter}\\n`),
      );
      assert.doesNotMatch(metrics, /listener="s3"/);
    }, {
      env: { S3PLUGIN_API_TLS_CERT: certFile, S3PLUGIN_API_TLS_KEY: keyFile, S3PLUGIN_API_TLS_LISTEN: "127.0.0.1:0" },
    });
  } finally {
    await Deno.remove(certDir, { recursive: true });
  }
});

Deno.test("HTTPS API: a CA certificate (openssl's default CA:TRUE) serves curl, and the CLI says why it refuses it", async () => {
  const certDir = await Deno.makeTempDir({ prefix: "s3plugin-api-tls-" });
  try {
    const { certFile, keyFile } = await selfSignedCertificate(certDir, "admin", { ...LOCAL_NAMES, ca: true });
    const app = await startAppliance({
      env: { S3PLUGIN_API_TLS_CERT: certFile, S3PLUGIN_API_TLS_KEY: keyFile, S3PLUGIN_API_TLS_LISTEN: "127.0.0.1:0" },
    });
    try {
      const url = `https://${await apiHttpsAddress(app.dataDir)}`;
      const health = await run("/usr/bin/curl", ["-sS", "--cacert", certFile, `${url}/api/v1/health`]);
      assert.equal(JSON.parse(health.stdout).status, "ok");
      const refused = await remoteCli(url, app.creds.apiToken, ["user", "list", "--ca-file", certFile]);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /CaUsedAsEndEntity.*a CA certificate \(CA:TRUE\).*basicConstraints=critical,CA:FALSE/,
      );
    } finally {
      assert.equal(await app.stop(), 0);
      await Deno.remove(app.dataDir, { recursive: true });
    }
  } finally {
    await Deno.remove(certDir, { recursive: true });
  }
});
