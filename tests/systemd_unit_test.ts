import assert from "node:assert/strict";
import { startAppliance } from "./e2e/_appliance.ts";

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
  // An appliance that stopped for its database lease comes back by itself once it can take the lease again.
  assert.match(unit, /^StartLimitIntervalSec=0$/m);
  assert.match(unit, /^Restart=on-failure$/m);
  for (const hardening of ["NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "UMask=0077"]) {
    assert.ok(unit.includes(`\n${hardening}\n`), hardening);
  }
});

const BACKUP_UNIT = new URL("../systemd/s3plugin-db-backup.service", import.meta.url).pathname;
const BACKUP_TIMER = new URL("../systemd/s3plugin-db-backup.timer", import.meta.url).pathname;

Deno.test("systemd/s3plugin-db-backup.{service,timer} pass verify; the service's command copies the database and keeps the newest", async () => {
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", BACKUP_UNIT, BACKUP_TIMER],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stderr).trim(), "", "no warnings");
  assert.match(await Deno.readTextFile(BACKUP_TIMER), /^OnCalendar=/m);

  // The unit's own command line, with this checkout for /opt/s3plugin and a test appliance for /var/lib/s3plugin.
  const unit = await Deno.readTextFile(BACKUP_UNIT);
  const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(" ");
  assert.deepEqual(execStart.slice(-6), ["db", "backup", "--dir", "/var/lib/s3plugin/backups", "--keep", "14"]);
  const app = await startAppliance();
  try {
    const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
    const args = execStart.slice(1).map((a) =>
      a.replace("/opt/s3plugin", root).replace("/var/lib/s3plugin", app.dataDir)
    ).filter((a) => a !== "--cached-only");
    for (let run = 0; run < 2; run++) {
      if (run > 0) await new Promise((r) => setTimeout(r, 1100)); // a copy is named by the second it was taken
      const done = await new Deno.Command(Deno.execPath(), {
        args,
        env: { S3PLUGIN_DATA_DIR: app.dataDir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(done.code, 0, new TextDecoder().decode(done.stderr));
    }
    const copies = [...Deno.readDirSync(`${app.dataDir}/backups`)].map((e) => e.name).sort();
    assert.equal(copies.length, 2);
    for (const name of copies) {
      assert.match(name, /^s3plugin-\d{8}T\d{6}Z\.db$/);
      assert.equal((await Deno.stat(`${app.dataDir}/backups/${name}`)).mode! & 0o777, 0o600);
    }
  } finally {
    await app.stop();
    await Deno.remove(app.dataDir, { recursive: true });
  }
});
