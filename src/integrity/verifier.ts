/**
 * `integrity verify`: recompute the whole chain and tree from the database records and check them against the
 * signed checkpoints, first of all the anchored ones (outside the database), and against the anchored leaf
 * hashes, which name the exact first changed record even when the database was replaced by a consistent forgery.
 *
 * @module
 */
import type { Anchor } from "./anchor.ts";
import { type CheckpointRef, type CheckResult, JournalChecker, type Problem } from "./chain_check.ts";
import type { JournalStore } from "./journal.ts";
import { type Hash, TreeBuilder } from "./merkle.ts";
import { openCheckpoint, parseVerifierKey, type VerifierKey } from "./note.ts";

export interface VerifyReport {
  ok: boolean;
  time: string;
  durationMs: number;
  size: number;
  rootHash: string;
  firstBadSeq?: number;
  problems: Problem[];
  problemCount: number;
  /** Problems with the checkpoints or anchors themselves (signatures, keys, reachability). */
  anchorProblems: string[];
  checkpoints: { database: number; anchored: number; matched: number };
  /** Records proven by a matching checkpoint. */
  provenSize: number;
  anchoredLeaves: number;
}

export interface VerifyDeps {
  journal: JournalStore;
  anchor: Anchor;
  /** The local signing key's verifier key. */
  verifierKey: string;
  dbCheckpoints(): Promise<{ size: number; note: string }[]>;
  now(): Date;
}

const PAGE = 5000;

async function openAll(
  notes: { size: number; note: string }[],
  key: VerifierKey,
  source: string,
  problems: string[],
): Promise<CheckpointRef[]> {
  const out: CheckpointRef[] = [];
  for (const n of notes) {
    try {
      const cp = await openCheckpoint(n.note, key);
      if (cp.size !== n.size) throw new Error(`it says size ${cp.size}`);
      out.push({ size: cp.size, rootHash: cp.rootHash, source });
    } catch (err) {
      problems.push(`The ${source} checkpoint of size ${n.size} is not valid: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Leaf hashes anchored from 0 that reproduce the anchored signed roots (the prefix up to the last match). */
function authenticatedLeaves(leaves: Uint8Array, anchored: CheckpointRef[], problems: string[]): Uint8Array {
  const tree = new TreeBuilder();
  const bySize = new Map<number, Hash>(anchored.map((c) => [c.size, c.rootHash]));
  let good = 0;
  for (let i = 0; i < leaves.length / 32; i++) {
    tree.push(leaves.subarray(i * 32, i * 32 + 32));
    const root = bySize.get(tree.size);
    if (!root) continue;
    if (root.toHex() !== tree.root().toHex()) {
      problems.push(`Anchored leaf hashes do not reproduce the anchored checkpoint of size ${tree.size}`);
      break;
    }
    good = tree.size;
  }
  return leaves.subarray(0, good * 32);
}

export async function verifyJournal(deps: VerifyDeps): Promise<VerifyReport> {
  const started = performance.now();
  const anchorProblems: string[] = [];
  const localKey = await parseVerifierKey(deps.verifierKey);
  let anchored: CheckpointRef[] = [];
  let leaves: Uint8Array = new Uint8Array(0);
  try {
    const anchoredKeyText = await deps.anchor.readKey() ?? await deps.anchor.publishKey(deps.verifierKey);
    if (anchoredKeyText !== deps.verifierKey) {
      anchorProblems.push(`The signing key differs from the anchored key ${anchoredKeyText}`);
    }
    const anchorKey = await parseVerifierKey(anchoredKeyText);
    anchored = await openAll(await deps.anchor.checkpoints(), anchorKey, "anchored", anchorProblems);
    leaves = authenticatedLeaves(await deps.anchor.leaves(), anchored, anchorProblems);
  } catch (err) {
    anchorProblems.push(`Anchors at ${deps.anchor.location} cannot be read: ${(err as Error).message}`);
  }
  const inDb = await openAll(await deps.dbCheckpoints(), localKey, "database", anchorProblems);

  const checker = new JournalChecker(
    [...anchored, ...inDb],
    (seq) => seq * 32 < leaves.length ? leaves.subarray(seq * 32, seq * 32 + 32) : undefined,
  );
  let after = -1;
  for (;;) {
    const page = await deps.journal.scan(after, PAGE);
    if (page.data.length === 0) break;
    page.data.forEach((d, i) => checker.add(d, page.hashes[i]));
    after = page.lastSeq;
  }
  const result: CheckResult = checker.finish();
  return {
    ok: result.ok && anchorProblems.length === 0,
    time: deps.now().toISOString(),
    durationMs: Math.round(performance.now() - started),
    size: result.size,
    rootHash: result.rootHash.toHex(),
    ...(result.firstBadSeq === undefined ? {} : { firstBadSeq: result.firstBadSeq }),
    problems: result.problems,
    problemCount: result.problemCount,
    anchorProblems,
    checkpoints: { database: inDb.length, anchored: anchored.length, matched: result.checkpointsMatched },
    provenSize: result.provenSize,
    anchoredLeaves: leaves.length / 32,
  };
}
