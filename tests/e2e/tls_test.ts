// The S3 gateway over HTTPS (--s3-tls-cert/--s3-tls-key), with certificates made by openssl: real clients that trust
// the certificate through their own TLS stacks (the AWS CLI's Python/OpenSSL over HTTP/1.1; curl and rclone's Go
// over HTTP/2), one that does not, and the start refused, with the file named, for a key that is not the
// certificate's.
import assert from "node:assert/strict";
import { join } from "node:path";
import { opensslFingerprint, selfSignedCertificate } from "../../src/_testing/certificate.ts";
import { aws, run, sha256File, startAppliance, withAppliance, writeTestFile } from "./_appliance.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** The names the test certificates are for, as an admin writes them for openssl. */
const LOCAL_NAMES = { subjectAltName: "IP:127.0.0.1,DNS:localhost" };

Deno.test("HTTPS gateway: aws s3 cp (HTTP/1.1), curl and rclone (HTTP/2) trust it by its CA bundle, the CLI refuses it without; /config and /metrics show the certificate", async () => {
  const certDir = await Deno.makeTempDir({ prefix: "s3plugin-tls-" });
  try {
    const { certFile: cert, keyFile: key } = await selfSignedCertificate(certDir, "appliance", LOCAL_NAMES);
    await withAppliance(async (app, scratch) => {
      assert.match(app.s3, /^https:\/\/127\.0\.0\.1:\d+$/);
      const file = join(scratch, "up.bin");
      await writeTestFile(file, 20 * 1024 * 1024 + 7); // a multipart upload with the CLI's defaults
      const bucket = `s3://${app.creds.bucket}`;
      await aws(app, scratch, ["--ca-bundle", cert, "s3", "cp", file, `${bucket}/tls/up.bin`]);
      await aws(app, scratch, ["--ca-bundle", cert, "s3", "cp", `${bucket}/tls/up.bin`, join(scratch, "down.bin")]);
      assert.equal(await sha256File(join(scratch, "down.bin")), await sha256File(file));

      const untrusted = await aws(app, scratch, ["s3", "ls", bucket], { allowFailure: true });
      assert.notEqual(untrusted.code, 0);
      assert.match(untrusted.stderr, /SSL.*CERTIFICATE_VERIFY_FAILED|certificate verify failed/i);

      // curl (OpenSSL) reaches the gateway, which answers an unsigned request as S3 does.
      const anonymous = await run("/usr/bin/curl", ["-sS", "--cacert", cert, `${app.s3}/${app.creds.bucket}`]);
      assert.match(anonymous.stdout, /<Code>AccessDenied<\/Code>/);

      // Over TLS curl and rclone (Go's HTTP client) speak HTTP/2, whose requests carry no Host header (its :authority
      // is what they sign as the host).
      const curl = (...args: string[]) =>
        run("/usr/bin/curl", [
          "-sS",
          "--cacert",
          cert,
          "--aws-sigv4",
          "aws:amz:us-east-1:s3",
          "--user",
          `${app.creds.accessKeyId}:${app.creds.secretAccessKey}`,
          "-H",
          "x-amz-content-sha256: UNSIGNED-PAYLOAD",
          "-w",
          "%{http_version} %{http_code}",
          ...args,
        ]);
      const put = await curl("-T", file, "-o", "/dev/null", `${app.s3}/${app.creds.bucket}/tls/h2.bin`);
      assert.equal(put.stdout, "2 200", put.stderr);
      const get = await curl("-o", join(scratch, "h2.bin"), `${app.s3}/${app.creds.bucket}/tls/h2.bin`);
      assert.equal(get.stdout, "2 200", get.stderr);
      assert.equal(await sha256File(join(scratch, "h2.bin")), await sha256File(file));
      // A key with `..` in it is that key over HTTPS too: the path is read as sent (curl keeps it with --path-as-is).
      const dotKey = await curl(
        "--path-as-is",
        "-T",
        file,
        "-o",
        "/dev/null",
        `${app.s3}/${app.creds.bucket}/tls/../dot`,
      );
      assert.equal(dotKey.stdout, "2 200", dotKey.stderr);
      const dotHead = await aws(app, scratch, [
        "--ca-bundle",
        cert,
        "s3api",
        "head-object",
        "--bucket",
        app.creds.bucket,
        "--key",
        "tls/../dot",
      ]);
      assert.equal(JSON.parse(dotHead.stdout).ContentLength, 20 * 1024 * 1024 + 7);
      const src = join(scratch, "tree");
      await Deno.mkdir(join(src, "sub"), { recursive: true });
      await writeTestFile(join(src, "sub", "parts.bin"), 12 * 1024 * 1024);
      await Deno.writeTextFile(join(src, "small.txt"), "over HTTP/2");
      const rcloneEnv = {
        HOME: scratch,
        RCLONE_CONFIG: join(scratch, "rclone.conf"),
        RCLONE_CONFIG_GW_TYPE: "s3",
        RCLONE_CONFIG_GW_PROVIDER: "Other",
        RCLONE_CONFIG_GW_ENDPOINT: app.s3,
        RCLONE_CONFIG_GW_ACCESS_KEY_ID: app.creds.accessKeyId,
        RCLONE_CONFIG_GW_SECRET_ACCESS_KEY: app.creds.secretAccessKey,
        RCLONE_CONFIG_GW_REGION: "us-east-1",
        RCLONE_CONFIG_GW_FORCE_PATH_STYLE: "true",
        RCLONE_S3_UPLOAD_CUTOFF: "5M",
        RCLONE_S3_CHUNK_SIZE: "5M",
        RCLONE_CA_CERT: cert,
      };
      const remote = `gw:${app.creds.bucket}/rclone`;
      await run("/usr/bin/rclone", ["copy", src, remote], { env: rcloneEnv });
      await run("/usr/bin/rclone", ["check", "--download", src, remote], { env: rcloneEnv });
      // Plain HTTP on the HTTPS port gets no S3 answer.
      await assert.rejects(fetch(app.s3.replace("https:", "http:")).then((r) => r.text()));

      const api = (path: string) =>
        fetch(`${app.api}${path}`, { headers: { authorization: `Bearer ${app.creds.apiToken}` } });
      const config = await (await api("/api/v1/config")).json();
      assert.equal(config.addresses.s3Url, app.s3);
      assert.equal(config.s3Certificate.fingerprintSha256, await opensslFingerprint(cert));
      assert.equal(config.s3Certificate.subjectAltName, "IP Address:127.0.0.1, DNS:localhost");
      const notAfter = Date.parse(config.s3Certificate.notAfter) / 1000;
      assert.ok(notAfter > Date.now() / 1000 + 399 * 86400, config.s3Certificate.notAfter);
      const metrics = await (await api("/metrics")).text();
      assert.match(metrics, new RegExp(`s3plugin_tls_certificate_not_after_seconds\\{listener="s3"\\} ${notAfter}\\n`));
    }, { env: { S3PLUGIN_S3_TLS_CERT: cert, S3PLUGIN_S3_TLS_KEY: key } });
  } finally {
    await Deno.remove(certDir, { recursive: true });
  }
});

Deno.test("HTTPS gateway: a key that is not the certificate's, or a missing file, stops the start with the file named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3plugin-tls-" });
  try {
    const one = await selfSignedCertificate(dir, "one", LOCAL_NAMES);
    const other = await selfSignedCertificate(dir, "other", LOCAL_NAMES);
    const cases: [Record<string, string>, RegExp][] = [
      [
        { S3PLUGIN_S3_TLS_CERT: one.certFile, S3PLUGIN_S3_TLS_KEY: other.keyFile },
        /TLS key .*other\.key does not belong to/,
      ],
      [
        { S3PLUGIN_S3_TLS_CERT: join(dir, "missing.crt"), S3PLUGIN_S3_TLS_KEY: one.keyFile },
        /Cannot read .*missing\.crt/,
      ],
      [{ S3PLUGIN_S3_TLS_CERT: one.keyFile, S3PLUGIN_S3_TLS_KEY: one.keyFile }, /one\.key is not a PEM certificate/],
      [{ S3PLUGIN_S3_TLS_CERT: one.certFile }, /needs both --s3-tls-cert/],
    ];
    for (const [env, message] of cases) {
      const child = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "serve", "--data-dir", join(dir, "data"), "--api-listen", "127.0.0.1:0"],
        env: { ...env, S3PLUGIN_S3_LISTEN: "127.0.0.1:0", S3PLUGIN_ISCSI_LISTEN: "127.0.0.1:0" },
        stdout: "null",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(child.stderr);
      assert.equal(child.code, 1, stderr);
      assert.match(stderr, message);
    }
    // The same certificate with its own key starts.
    const app = await startAppliance({ env: { S3PLUGIN_S3_TLS_CERT: one.certFile, S3PLUGIN_S3_TLS_KEY: one.keyFile } });
    try {
      assert.match(app.s3, /^https:/);
    } finally {
      assert.equal(await app.stop(), 0);
      await Deno.remove(app.dataDir, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
