import assert from "node:assert/strict";
import { AppError } from "./errors.ts";
import { formatListenAddress, parseClientConfig, parseListenAddress, parseServeConfig } from "./config.ts";

function rejects(fn: () => unknown, pattern: RegExp) {
  assert.throws(
    fn,
    (err: unknown) => err instanceof AppError && err.code === "InvalidArgument" && pattern.test(err.message),
  );
}

Deno.test("parseServeConfig() uses the dev defaults without flags or environment", () => {
  assert.deepEqual(parseServeConfig([], {}), {
    dataDir: "./data",
    listen: {
      api: { hostname: "127.0.0.1", port: 8080 },
      s3: { hostname: "127.0.0.1", port: 9000 },
      iscsi: { hostname: "127.0.0.1", port: 3260 },
    },
  });
});

Deno.test("parseServeConfig() flags win over their environment twins", () => {
  const env = {
    S3PLUGIN_DATA_DIR: "/var/lib/s3plugin",
    S3PLUGIN_S3_LISTEN: "0.0.0.0:9000",
    S3PLUGIN_API_LISTEN: "0.0.0.0:443",
    S3PLUGIN_DB_URL: "libsql://db.example:8080",
  };
  const config = parseServeConfig(["--s3-listen", "127.0.0.1:0", "--data-dir=/tmp/x"], env);
  assert.equal(config.dataDir, "/tmp/x");
  assert.deepEqual(config.listen.s3, { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(config.listen.api, { hostname: "0.0.0.0", port: 443 });
  assert.equal(config.dbUrl, "libsql://db.example:8080");
});

Deno.test("parseServeConfig() rejects bad input with the flag named", () => {
  rejects(() => parseServeConfig(["--api-listen", "localhost"], {}), /--api-listen.*HOST:PORT/);
  rejects(() => parseServeConfig(["--s3-listen", "127.0.0.1:70000"], {}), /--s3-listen.*0\.\.65535/);
  rejects(() => parseServeConfig([], { S3PLUGIN_ISCSI_LISTEN: ":3260" }), /S3PLUGIN_ISCSI_LISTEN/);
  rejects(() => parseServeConfig(["--db-url", "postgres://x"], {}), /--db-url.*expected file:/);
  rejects(() => parseServeConfig(["--bogus"], {}), /Cannot parse "serve".*bogus/);
  rejects(() => parseServeConfig(["extra"], {}), /Unexpected argument "extra"/);
});

Deno.test("parseListenAddress() accepts IPv6 in brackets and formats it back", () => {
  const a = parseListenAddress("[::1]:9000", "x");
  assert.deepEqual(a, { hostname: "::1", port: 9000 });
  assert.equal(formatListenAddress(a), "[::1]:9000");
});

Deno.test("parseClientConfig() splits connection flags off and keeps the rest for the subcommand", () => {
  const c = parseClientConfig(["list", "--api", "http://h:1", "--json", "--token=t", "--grant", "b=read"], {
    S3PLUGIN_DATA_DIR: "/d",
  });
  assert.deepEqual(c, {
    api: "http://h:1",
    token: "t",
    dataDir: "/d",
    json: true,
    rest: ["list", "--json", "--grant", "b=read"],
  });
  rejects(() => parseClientConfig(["--api"], {}), /Missing value for --api/);
  assert.equal(parseClientConfig(["--ca-file", "/etc/ca.pem", "list"], {}).caFile, "/etc/ca.pem");
  assert.equal(parseClientConfig(["list"], { S3PLUGIN_API_CA_FILE: "/ca.pem" }).caFile, "/ca.pem");
  assert.equal(parseClientConfig(["list"], {}).caFile, undefined);
});

Deno.test("parseServeConfig() reads the integrity anchor target as [BACKEND:]BUCKET[/PREFIX]", () => {
  assert.equal(parseServeConfig([], {}).integrityAnchor, undefined);
  assert.deepEqual(parseServeConfig(["--integrity-anchor", "wasabi:audit-anchors/appliance-1/"], {}).integrityAnchor, {
    backend: "wasabi",
    bucket: "audit-anchors",
    prefix: "appliance-1/",
  });
  assert.deepEqual(parseServeConfig([], { S3PLUGIN_INTEGRITY_ANCHOR: "anchors" }).integrityAnchor, {
    bucket: "anchors",
    prefix: "",
  });
  rejects(() => parseServeConfig(["--integrity-anchor", "Bad_Bucket"], {}), /--integrity-anchor.*BACKEND:\]BUCKET/);
  rejects(() => parseServeConfig([], { S3PLUGIN_INTEGRITY_ANCHOR: "a:b:c" }), /S3PLUGIN_INTEGRITY_ANCHOR/);
});

Deno.test("parseServeConfig() reads whether integrity journals successful reads", () => {
  assert.equal(parseServeConfig([], {}).integrityJournalReads, undefined);
  assert.equal(parseServeConfig(["--integrity-journal-reads", "true"], {}).integrityJournalReads, true);
  const env = { S3PLUGIN_INTEGRITY_JOURNAL_READS: "true" };
  assert.equal(parseServeConfig(["--integrity-journal-reads=false"], env).integrityJournalReads, false);
  rejects(() => parseServeConfig([], { S3PLUGIN_INTEGRITY_JOURNAL_READS: "yes" }), /JOURNAL_READS.*true or false/);
});

Deno.test("parseServeConfig() reads the S3 gateway's TLS certificate and key, both or neither", () => {
  assert.deepEqual(
    parseServeConfig(["--s3-tls-cert", "/etc/s3plugin/tls.crt"], { S3PLUGIN_S3_TLS_KEY: "/etc/s3plugin/tls.key" })
      .s3Tls,
    { certFile: "/etc/s3plugin/tls.crt", keyFile: "/etc/s3plugin/tls.key" },
  );
  assert.equal(parseServeConfig([], {}).s3Tls, undefined);
  rejects(() => parseServeConfig(["--s3-tls-cert", "/x.crt"], {}), /needs both --s3-tls-cert.* and --s3-tls-key/);
  rejects(() => parseServeConfig([], { S3PLUGIN_S3_TLS_KEY: "/x.key" }), /needs both/);
});

Deno.test("parseServeConfig() reads the management API's HTTPS listener: certificate and key, 0.0.0.0:8443 unless given", () => {
  const files = { certFile: "/etc/s3plugin/api.crt", keyFile: "/etc/s3plugin/api.key" };
  assert.deepEqual(
    parseServeConfig(["--api-tls-cert", files.certFile, "--api-tls-key", files.keyFile], {}).apiTls,
    { ...files, listen: { hostname: "0.0.0.0", port: 8443 } },
  );
  const env = { S3PLUGIN_API_TLS_CERT: files.certFile, S3PLUGIN_API_TLS_KEY: files.keyFile };
  const config = parseServeConfig(["--api-tls-listen", "10.0.0.5:443"], env);
  assert.deepEqual(config.apiTls, { ...files, listen: { hostname: "10.0.0.5", port: 443 } });
  assert.deepEqual(config.listen.api, { hostname: "127.0.0.1", port: 8080 }, "the plain listener stays");
  assert.equal(config.s3Tls, undefined);
  assert.equal(parseServeConfig([], {}).apiTls, undefined);
  rejects(() => parseServeConfig(["--api-tls-key", "/x.key"], {}), /management API needs both --api-tls-cert/);
  rejects(() => parseServeConfig(["--api-tls-listen", "0.0.0.0:443"], {}), /needs a certificate and key/);
  rejects(() => parseServeConfig(["--api-tls-listen", "nope"], env), /--api-tls-listen/);
});
