import assert from "node:assert/strict";
import { servedJournal } from "./_testing.ts";
import { runCli } from "./cli.ts";
import { formatVerifierKey } from "./note.ts";

const VERIFIER = new URL("./standalone_verify.ts", import.meta.url).pathname;

/** Runs the verifier as a third party would: its own process, no project config, read access to the export only. */
async function standalone(dir: string, ...extra: string[]): Promise<{ code: number; report: Record<string, unknown> }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", `--allow-read=${dir}`, VERIFIER, dir, "--json", ...extra],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(text.startsWith("{"), `verifier printed no report: ${new TextDecoder().decode(out.stderr)}`);
  return { code: out.code, report: JSON.parse(text) };
}

/** An export of 30 records with anchored checkpoints at 10, 20 and 30, made through the CLI. */
async function exported(): Promise<{ dir: string; vkey: string; cleanup(): Promise<void> }> {
  const j = await servedJournal(0);
  const dir = await Deno.makeTempDir({ prefix: "integrity-export-" });
  try {
    for (let i = 0; i < 30; i++) {
      await j.publish(i);
      if (i % 10 === 9) assert.equal(await runCli(["checkpoint"], j.api, { print: () => {} }), 0);
    }
    assert.equal(await runCli(["export", dir], j.api, { print: () => {} }), 0);
    const vkey = (await Deno.readTextFile(`${dir}/key.txt`)).trim();
    return { dir, vkey, cleanup: () => Deno.remove(dir, { recursive: true }) };
  } finally {
    await j.close();
  }
}

async function editLines(path: string, fn: (lines: string[]) => string[]): Promise<void> {
  const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
  await Deno.writeTextFile(path, fn(lines).join("\n") + "\n");
}

Deno.test("standalone verifier accepts a real export and pins the key", async () => {
  const e = await exported();
  try {
    const files = [...Deno.readDirSync(e.dir)].map((f) => f.name).sort();
    assert.deepEqual(files, ["checkpoints", "key.txt", "manifest.json", "records.jsonl"]);
    const ok = await standalone(e.dir, "--key", e.vkey);
    assert.equal(ok.code, 0, JSON.stringify(ok.report));
    assert.equal(ok.report.size, 30);
    assert.equal(ok.report.checkpoints, 3);
    assert.equal(ok.report.provenSize, 30);
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const other = formatVerifierKey(e.vkey.split("+")[0]!, raw);
    const wrongKey = await standalone(e.dir, "--key", other);
    assert.equal(wrongKey.code, 1, "a different pinned key verifies nothing");
    assert.equal(wrongKey.report.checkpoints, 0);
    assert.ok((wrongKey.report.problems as string[]).some((p) => /not the pinned key/.test(p)));
  } finally {
    await e.cleanup();
  }
});

Deno.test("standalone verifier names an edited record in a tampered export", async () => {
  const e = await exported();
  try {
    await editLines(
      `${e.dir}/records.jsonl`,
      (l) => l.map((x, i) => i === 17 ? x.replace('"status":200', '"status":403') : x),
    );
    const r = await standalone(e.dir);
    assert.equal(r.code, 1);
    assert.equal(r.report.firstBadSeq, 17);
  } finally {
    await e.cleanup();
  }
});

Deno.test("standalone verifier names a removed record, a truncated tail and a forged signature", async () => {
  const e = await exported();
  try {
    const original = await Deno.readTextFile(`${e.dir}/records.jsonl`);
    await editLines(`${e.dir}/records.jsonl`, (l) => l.filter((_, i) => i !== 4));
    assert.equal((await standalone(e.dir)).report.firstBadSeq, 4);

    await Deno.writeTextFile(`${e.dir}/records.jsonl`, original);
    await editLines(`${e.dir}/records.jsonl`, (l) => l.slice(0, 25));
    const truncated = await standalone(e.dir);
    assert.equal(truncated.code, 1);
    assert.equal(truncated.report.firstBadSeq, 25);

    await Deno.writeTextFile(`${e.dir}/records.jsonl`, original);
    const note = `${e.dir}/checkpoints/${"30".padStart(20, "0")}.note`;
    const text = await Deno.readTextFile(note);
    await Deno.writeTextFile(note, text.replace("\n30\n", "\n31\n"));
    const forged = await standalone(e.dir);
    assert.equal(forged.code, 1);
    assert.ok((forged.report.problems as string[]).some((p) => /signature .* invalid/.test(p)));
  } finally {
    await e.cleanup();
  }
});
