import assert from "node:assert/strict";
import { createDb, databaseFault } from "./client.ts";
import { migrateDb } from "./migrate.ts";
import { startSqld } from "./_testing/sqld.ts";

Deno.test("a sqld database opens by every URL form --db-url takes: http://, ws://, libsql://…?tls=0", async () => {
  const server = await startSqld({ auth: true });
  const { port } = new URL(server.url);
  try {
    const forms: [url: string, protocol: string][] = [
      [`http://127.0.0.1:${port}`, "http"],
      [`ws://127.0.0.1:${port}`, "ws"],
      [`libsql://127.0.0.1:${port}?tls=0`, "http"],
    ];
    for (const [url, protocol] of forms) {
      const handle = createDb(url, { authToken: server.authToken! });
      try {
        assert.equal(handle.client.protocol, protocol, url);
        await migrateDb(handle);
        assert.equal(await databaseFault(handle.db), undefined, url);
        const tables = await handle.client.execute("SELECT name FROM sqlite_master WHERE name = 'access_keys'");
        assert.equal(tables.rows.length, 1, url);
      } finally {
        handle.close();
      }
    }
    // libsql:// without tls=0 means TLS, which a plain server does not speak.
    const tls = createDb(`libsql://127.0.0.1:${port}`, { authToken: server.authToken! });
    assert.notEqual(await databaseFault(tls.db), undefined);
    tls.close();
  } finally {
    await server.close();
  }
});
