/**
 * Stand-alone verifier of an integrity export (docs/integrity-export-format.md). It needs only the export
 * directory and imports nothing from the appliance but the pure hashing, note and record-codec modules:
 *
 *   deno run --allow-read=EXPORT_DIR src/integrity/standalone_verify.ts EXPORT_DIR [--key VKEY] [--json]
 *
 * `--key` pins the verifier key obtained out of band (otherwise `key.txt` of the export is trusted).
 * Exit code 0: every record and checkpoint verified; 1: a problem was found; 2: the export cannot be read.
 *
 * @module
 */
import { type CheckpointRef, JournalChecker } from "./chain_check.ts";
import { openCheckpoint, parseVerifierKey } from "./note.ts";

export interface StandaloneReport {
  ok: boolean;
  size: number;
  rootHash: string;
  firstBadSeq?: number;
  checkpoints: number;
  provenSize: number;
  problems: string[];
}

async function* lines(path: string): AsyncGenerator<string> {
  const file = await Deno.open(path);
  let rest = "";
  for await (const text of file.readable.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

export async function verifyExport(dir: string, pinnedKey?: string): Promise<StandaloneReport> {
  const problems: string[] = [];
  const keyText = (await Deno.readTextFile(`${dir}/key.txt`)).trim();
  if (pinnedKey !== undefined && pinnedKey.trim() !== keyText) {
    problems.push(`key.txt (${keyText}) is not the pinned key`);
  }
  const key = await parseVerifierKey(pinnedKey ?? keyText);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)) as { size: number; rootHash: string };

  const checkpoints: CheckpointRef[] = [];
  const names = [];
  for await (const entry of Deno.readDir(`${dir}/checkpoints`)) if (entry.isFile) names.push(entry.name);
  for (const name of names.sort()) {
    try {
      const cp = await openCheckpoint(await Deno.readTextFile(`${dir}/checkpoints/${name}`), key);
      checkpoints.push({ size: cp.size, rootHash: cp.rootHash, source: `signed (${name})` });
    } catch (err) {
      problems.push(`checkpoints/${name}: ${(err as Error).message}`);
    }
  }

  const checker = new JournalChecker(checkpoints);
  for await (const line of lines(`${dir}/records.jsonl`)) checker.add(line);
  const result = checker.finish();
  const rootHash = result.rootHash.toHex();
  if (manifest.size !== result.size || manifest.rootHash !== rootHash) {
    problems.push(`manifest says ${manifest.size} records with root ${manifest.rootHash}, records give ${result.size}`);
  }
  if (checkpoints.length === 0) problems.push("no valid signed checkpoint: nothing is proven");
  return {
    ok: result.ok && problems.length === 0,
    size: result.size,
    rootHash,
    ...(result.firstBadSeq === undefined ? {} : { firstBadSeq: result.firstBadSeq }),
    checkpoints: checkpoints.length,
    provenSize: result.provenSize,
    problems: [...problems, ...result.problems.map((p) => `#${p.seq} ${p.kind}: ${p.message}`)],
  };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const json = args.includes("--json");
  const keyAt = args.indexOf("--key");
  const pinned = keyAt >= 0 ? args[keyAt + 1] : undefined;
  const [dir] = args.filter((a, i) => a !== "--json" && (keyAt < 0 || (i !== keyAt && i !== keyAt + 1)));
  if (!dir) {
    console.error("Usage: standalone_verify.ts EXPORT_DIR [--key VKEY] [--json]");
    Deno.exit(2);
  }
  let report: StandaloneReport;
  try {
    report = await verifyExport(dir, pinned);
  } catch (err) {
    console.error(`Cannot verify export ${dir}: ${(err as Error).message}`);
    Deno.exit(2);
  }
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(
      report.ok
        ? `ok: ${report.size} records, ${report.checkpoints} signed checkpoints, root ${report.rootHash}`
        : `FAILED: first bad record ${report.firstBadSeq ?? "unknown"}`,
    );
    for (const p of report.problems) console.log(`  ${p}`);
  }
  Deno.exit(report.ok ? 0 : 1);
}
