import assert from "node:assert/strict";
import { fakeClock } from "../clock.ts";
import { AppError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { createDb } from "./client.ts";
import { acquireDbLease, type LeaseOptions, TTL_MS } from "./lease.ts";
import { migrateDb } from "./migrate.ts";

/** Two appliances' connections to one database file, on one clock. */
async function twoAppliances() {
  const dir = await Deno.makeTempDir();
  const handles = [createDb(`file:${dir}/shared.db`), createDb(`file:${dir}/shared.db`)] as const;
  await migrateDb(handles[0]);
  const clock = fakeClock();
  const lost: [string[], string[]] = [[], []];
  const options = (i: 0 | 1, owner: string): LeaseOptions => ({
    db: handles[i].db,
    clock,
    logger: silentLogger(),
    owner,
    database: "file:shared.db",
    onLost: (reason) => lost[i].push(reason),
    timer: false,
  });
  return {
    clock,
    lost,
    options,
    /** The appliance loses its connection to the database. */
    disconnect: (i: 0 | 1) => handles[i].close(),
    async close() {
      handles.forEach((h) => h.close());
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function refusedBy(owner: string) {
  return (err: unknown) => {
    assert.ok(err instanceof AppError && err.code === "Conflict", String(err));
    assert.match(
      err.message,
      new RegExp(`in use by the appliance ${owner} \\(pid ${Deno.pid}, lease renewed \\d+ s ago\\)`),
    );
    return true;
  };
}

Deno.test("db lease: a second appliance is refused while the first renews; it takes over a lease left to expire", async () => {
  const t = await twoAppliances();
  try {
    const a = await acquireDbLease(t.options(0, "pve1:/var/lib/s3plugin"));
    await assert.rejects(acquireDbLease(t.options(1, "pve2:/var/lib/s3plugin")), refusedBy("pve1:/var/lib/s3plugin"));

    for (let i = 0; i < 5; i++) {
      t.clock.advance(TTL_MS / 3);
      assert.equal(await a.renew(), true);
    }
    await assert.rejects(acquireDbLease(t.options(1, "pve2:/var/lib/s3plugin")), refusedBy("pve1:/var/lib/s3plugin"));

    // The first stops renewing (hung, or cut off from the database): the lease expires and the second takes it.
    t.clock.advance(TTL_MS + 1);
    const b = await acquireDbLease(t.options(1, "pve2:/var/lib/s3plugin"));
    assert.equal(await a.renew(), false, "past the TTL it stops without asking the database");
    assert.deepEqual(t.lost[0], ["the database lease was not renewed for 30 s"]);
    assert.equal(await a.renew(), false);
    assert.equal(t.lost[0].length, 1, "onLost is called once");
    await a.release(); // gives up nothing: the lease is the second's
    assert.equal(await b.renew(), true);
    assert.deepEqual(t.lost[1], []);
  } finally {
    await t.close();
  }
});

Deno.test("db lease: released on stop, so another starts at once; the same appliance takes its own lease back after a crash", async () => {
  const t = await twoAppliances();
  try {
    const a = await acquireDbLease(t.options(0, "pve1:/data"));
    await a.release();
    const b = await acquireDbLease(t.options(1, "pve2:/data"));

    // pve2 crashes (no release) and restarts: its own lease, at once.
    const again = await acquireDbLease(t.options(1, "pve2:/data"));
    assert.equal(await again.renew(), true);
    assert.equal(await b.renew(), true, "the crashed instance's handle would still match the owner (it is gone)");
    await assert.rejects(acquireDbLease(t.options(0, "pve1:/data")), refusedBy("pve2:/data"));
  } finally {
    await t.close();
  }
});

Deno.test("db lease: renewals that fail are retried; after the TTL without one the lease counts as lost", async () => {
  const t = await twoAppliances();
  try {
    const a = await acquireDbLease(t.options(0, "pve1:/data"));
    t.disconnect(0);
    t.clock.advance(TTL_MS / 2);
    assert.equal(await a.renew(), true, "still held: within the TTL");
    assert.deepEqual(t.lost[0], []);
    t.clock.advance(TTL_MS / 2);
    assert.equal(await a.renew(), false);
    assert.equal(t.lost[0].length, 1);
    assert.match(t.lost[0][0]!, /^the database lease could not be renewed for 30 s: .*closed/);
  } finally {
    await t.close();
  }
});
