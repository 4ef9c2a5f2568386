import assert from "node:assert/strict";
import { servedJournal } from "./_testing.ts";
import { runCli } from "./cli.ts";

async function cli(api: { url: string; token: string }, ...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(args, api, { print: (t) => lines.push(t) });
  return { code, out: lines.join("\n") };
}

Deno.test("CLI: checkpoint, status, proof, consistency, verify and reconcile against a served journal", async () => {
  const j = await servedJournal(10);
  try {
    const cp = await cli(j.api, "checkpoint", "--json");
    assert.equal(cp.code, 0, cp.out);
    assert.equal(JSON.parse(cp.out).size, 10);
    assert.match(JSON.parse(cp.out).note, /^s3plugin\.integrity\/[0-9a-f]{8}\n10\n[A-Za-z0-9+/=]{44}\ntime /);

    const status = await cli(j.api, "status");
    assert.equal(status.code, 0);
    assert.match(status.out, /^records {5}10 \(0 queued\)$/m);
    assert.match(status.out, /^checkpoint {2}10 at 2026-03-01T10:00:10\.000Z, anchored$/m);

    const proof = await cli(j.api, "proof", "3");
    assert.equal(proof.code, 0, proof.out);
    assert.match(proof.out, /record 3 in tree of size 10: VERIFIED against the signed checkpoint/);
    assert.match(proof.out, /"key":"k\/3"/);

    for (let i = 10; i < 15; i++) await j.publish(i);
    assert.equal((await cli(j.api, "checkpoint")).code, 0);
    const cons = await cli(j.api, "consistency", "10", "15", "--json");
    assert.equal(cons.code, 0, cons.out);
    assert.equal(JSON.parse(cons.out).verified, true);
    const proofOld = await cli(j.api, "proof", "14", "--size", "15", "--json");
    assert.equal(JSON.parse(proofOld.out).verified, true);
    assert.equal(JSON.parse(proofOld.out).signed, true);

    const verify = await cli(j.api, "verify");
    assert.equal(verify.code, 0, verify.out);
    assert.match(verify.out, /^ok: 15 records, 2 anchored checkpoints/);
    assert.match(verify.out, /records 0\.\.14 are covered by signed checkpoints$/m);
    const rec = await cli(j.api, "reconcile", "data");
    assert.equal(rec.code, 0, rec.out);
    assert.match(rec.out, /data: 15 objects, 15 expected, 0 anomalies/);
  } finally {
    await j.close();
  }
});

Deno.test("CLI: a proof over a tampered leaf hash does not verify, and verify exits 1 naming the record", async () => {
  const j = await servedJournal(12);
  try {
    assert.equal((await cli(j.api, "checkpoint")).code, 0);
    // Rewrite the stored leaf hash of record 3: proofs for records 8..11 recompute the subtree over 0..7 from it.
    await j.t.handle.client.execute(`UPDATE integrity_records SET hash = '${"ab".repeat(32)}' WHERE seq = 3`);
    const proof = await cli(j.api, "proof", "9");
    assert.equal(proof.code, 1);
    assert.match(proof.out, /NOT VERIFIED/);
    const verify = await cli(j.api, "verify", "--json");
    assert.equal(verify.code, 1);
    assert.equal(JSON.parse(verify.out).firstBadSeq, 3);
  } finally {
    await j.close();
  }
});

Deno.test("CLI: bad input and bad tokens give clear errors and exit 2", async () => {
  const j = await servedJournal(2);
  try {
    const usage = await cli(j.api, "frobnicate");
    assert.equal(usage.code, 2);
    assert.match(usage.out, /^Usage: integrity <command>/);
    const notNumber = await cli(j.api, "proof", "abc");
    assert.equal(notNumber.code, 2);
    assert.match(notNumber.out, /"abc" is not a record number/);
    const outside = await cli(j.api, "proof", "99");
    assert.equal(outside.code, 2);
    assert.match(outside.out, /Record 99 is not in a tree of size 2/);
    const missingArg = await cli(j.api, "reconcile");
    assert.equal(missingArg.code, 2);
    const badConsistency = await cli(j.api, "consistency", "2", "1", "--json");
    assert.equal(badConsistency.code, 2);
    assert.match(JSON.parse(badConsistency.out).error, /outside the journal|1 ≤ from ≤ to/);
    const denied = await cli({ ...j.api, token: "wrong" }, "status");
    assert.equal(denied.code, 2);
    assert.match(denied.out, /error:/);
  } finally {
    await j.close();
  }
});
