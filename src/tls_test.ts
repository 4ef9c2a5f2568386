import assert from "node:assert/strict";
import { join } from "node:path";
import { selfSignedCertificate } from "./_testing/certificate.ts";
import { withTempDir } from "./_testing/temp_dir.ts";
import { AppError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { certificateMetrics, loadTlsCertificate } from "./tls.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ write: (line) => lines.push(JSON.parse(line)) }) };
}

Deno.test("loadTlsCertificate(): the PEMs and what clients may know of them; no warning for a key of mode 0600 valid a year", async () => {
  await withTempDir("tls-test-", async (dir) => {
    const files = await selfSignedCertificate(dir, "appliance", { days: 365 });
    const { lines, logger } = capture();
    const loaded = await loadTlsCertificate("s3", files, logger);
    assert.equal(loaded.cert, await Deno.readTextFile(files.certFile));
    assert.equal(loaded.key, await Deno.readTextFile(files.keyFile));
    assert.equal(loaded.info.subject, "CN=appliance");
    assert.match(loaded.info.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(loaded.info.subjectAltName, undefined);
    assert.deepEqual(lines, []);
    assert.equal(
      certificateMetrics([{ name: "s3", info: loaded.info }]).split("\n")[2],
      `s3plugin_tls_certificate_not_after_seconds{listener="s3"} ${Date.parse(loaded.info.notAfter) / 1000}`,
    );
    assert.equal(certificateMetrics([]), "");
  });
});

Deno.test("loadTlsCertificate(): warns of a key others can read, a CA certificate, and a certificate near its end or past it", async () => {
  await withTempDir("tls-test-", async (dir) => {
    const soon = await selfSignedCertificate(dir, "soon", { days: 10, ca: true });
    await Deno.chmod(soon.keyFile, 0o644);
    const { lines, logger } = capture();
    await loadTlsCertificate("s3", soon, logger);
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
      ["warn", "s3: the TLS key can be read by other users; chmod 600 it"],
      [
        "warn",
        "s3: the TLS certificate is a CA certificate (basicConstraints CA:TRUE); some clients refuse it as a server " +
        "certificate (CaUsedAsEndEntity): make it with -addext basicConstraints=critical,CA:FALSE",
      ],
      ["warn", "s3: the TLS certificate expires in 9 days"],
    ]);
    assert.equal(lines[0]!.mode, "644");

    const expired = capture();
    await loadTlsCertificate("s3", soon, expired.logger, new Date(Date.now() + 11 * 86_400_000));
    assert.equal(expired.lines.at(-1)!.msg, "s3: the TLS certificate has expired; clients will refuse it");
  });
});

Deno.test("loadTlsCertificate(): refuses a missing file, a non-PEM certificate or key, and another certificate's key", async () => {
  await withTempDir("tls-test-", async (dir) => {
    const one = await selfSignedCertificate(dir, "one", { days: 30 });
    const other = await selfSignedCertificate(dir, "other", { days: 30 });
    await Deno.writeTextFile(join(dir, "junk.pem"), "-----BEGIN NOTHING-----\n");
    const { logger } = capture();
    const refused = async (files: { certFile: string; keyFile: string }, pattern: RegExp) =>
      await assert.rejects(
        loadTlsCertificate("s3", files, logger),
        (err) => err instanceof AppError && err.code === "InvalidArgument" && pattern.test(err.message),
      );
    await refused({ ...one, certFile: join(dir, "none.crt") }, /^Cannot read the s3 TLS certificate .*none\.crt: /);
    await refused({ ...one, keyFile: join(dir, "none.key") }, /^Cannot read the s3 TLS key .*none\.key: /);
    await refused({ ...one, certFile: join(dir, "junk.pem") }, /junk\.pem is not a PEM certificate$/);
    await refused({ ...one, keyFile: join(dir, "junk.pem") }, /junk\.pem is not a PEM private key$/);
    await refused({ ...one, keyFile: other.keyFile }, /other\.key does not belong to the certificate .*one\.crt$/);
  });
});
