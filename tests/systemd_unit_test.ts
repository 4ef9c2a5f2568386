import assert from "node:assert/strict";

const UNIT = new URL("../systemd/s3plugin.service", import.meta.url).pathname;

Deno.test("systemd/s3plugin.service passes systemd-analyze verify and runs serve on /var/lib/s3plugin", async () => {
  const out = await new Deno.Command("systemd-analyze", { args: ["verify", UNIT], stdout: "piped", stderr: "piped" })
    .output();
  const messages = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, messages);
  assert.equal(messages.trim(), "", "no warnings");
  const unit = await Deno.readTextFile(UNIT);
  assert.match(unit, /^ExecStart=.* \/opt\/s3plugin\/src\/main\.ts serve$/m);
  assert.match(unit, /^Environment=S3PLUGIN_DATA_DIR=\/var\/lib\/s3plugin$/m);
  // Bearer tokens never cross the network in clear text: remote clients use the API's HTTPS listener.
  assert.match(unit, /^Environment=S3PLUGIN_API_LISTEN=127\.0\.0\.1:8080$/m);
  for (const hardening of ["NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "UMask=0077"]) {
    assert.ok(unit.includes(`\n${hardening}\n`), hardening);
  }
});
