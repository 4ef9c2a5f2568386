/**
 * `integrity status|verify|reconcile BUCKET|proof SEQ [--size N]|consistency A B|checkpoint|export DIR [--json]`:
 * the operator's commands, talking to a running appliance through the management API. Proofs are checked
 * here, on the client, against the signed checkpoints. Exit codes: 0 ok, 1 a check failed (verification
 * problems, anomalies found, a proof that does not verify), 2 usage or API errors.
 *
 * @module
 */
import { type ApiTarget, createApiClient } from "../api/client.ts";
import { AppError } from "../errors.ts";
import type { CheckpointInfo } from "./checkpoints.ts";
import { writeExportDir } from "./export.ts";
import type { IntegrityStatus } from "./integrity.ts";
import { fromHex, leafHashText, verifyConsistency, verifyInclusion } from "./merkle.ts";
import { openCheckpoint, parseVerifierKey } from "./note.ts";
import type { ReconcileReport } from "./reconcile.ts";
import type { VerifyReport } from "./verifier.ts";

const USAGE = `Usage: integrity <command> [--json]
  status                 journal size, root, latest checkpoint, last verification
  verify                 recompute chain and tree, check them against the anchored checkpoints
  reconcile BUCKET       compare the bucket with the journal; record out-of-band changes
  proof SEQ [--size N]   inclusion proof of record SEQ, checked against the signed checkpoint
  consistency A B        consistency proof between tree sizes A and B, checked against both checkpoints
  checkpoint             make and anchor a signed checkpoint now
  export DIR             write journal, checkpoints and key to DIR (docs/integrity-export-format.md)`;

export interface CliIo {
  print(text: string): void;
}

export async function runCli(
  args: string[],
  api: ApiTarget,
  io: CliIo = { print: (t) => console.log(t) },
): Promise<number> {
  const json = args.includes("--json");
  const sizeAt = args.indexOf("--size");
  const size = sizeAt >= 0 ? args[sizeAt + 1] : undefined;
  const [command, ...rest] = args.filter((a, i) => a !== "--json" && i !== sizeAt && (sizeAt < 0 || i !== sizeAt + 1));
  const client = createApiClient(api);
  const get = <T>(path: string) => client.request<T>("GET", `/integrity${path}`);
  const post = <T>(path: string) => client.request<T>("POST", `/integrity${path}`);
  const out = (value: unknown, text: string) => io.print(json ? JSON.stringify(value, null, 2) : text);
  const need = (n: number) => {
    if (rest.length !== n || rest.some((a) => a.startsWith("--"))) throw new AppError("InvalidArgument", USAGE);
  };
  const whole = (s: string) => {
    if (!/^\d+$/.test(s)) throw new AppError("InvalidArgument", `"${s}" is not a record number or tree size`);
    return s;
  };

  try {
    switch (command) {
      case "status": {
        need(0);
        const s = await get<IntegrityStatus>("/status");
        const cp = s.latestCheckpoint;
        const v = s.lastVerify;
        out(
          s,
          [
            `origin      ${s.origin}`,
            `records     ${s.size} (${s.pending} queued)`,
            `root        ${s.rootHash}`,
            `checkpoint  ${cp ? `${cp.size} at ${cp.time}${cp.anchoredAt ? ", anchored" : ", NOT anchored"}` : "none"}`,
            `anchor      ${s.anchor}`,
            `verified    ${v ? `${v.ok ? "ok" : `FAILED (first bad record ${v.firstBadSeq})`} at ${v.time}` : "never"}`,
            `anomalies   ${s.anomaliesTotal}`,
          ].join("\n"),
        );
        return 0;
      }
      case "verify": {
        need(0);
        const r = await post<VerifyReport>("/verify");
        const lines = r.ok
          ? [
            `ok: ${r.size} records, ${r.checkpoints.anchored} anchored checkpoints, root ${r.rootHash}`,
            r.provenSize === 0
              ? "  no record is covered by a signed checkpoint yet"
              : `  records 0..${r.provenSize - 1} are covered by signed checkpoints` +
                (r.provenSize < r.size ? `; ${r.size - r.provenSize} newer ones are chained, not yet signed` : ""),
          ]
          : [
            `FAILED: first bad record ${r.firstBadSeq ?? "unknown"}; ${r.problemCount} problem(s)`,
            ...r.anchorProblems.map((p) => `  anchor: ${p}`),
            ...r.problems.map((p) => `  #${p.seq} ${p.kind}: ${p.message}`),
          ];
        out(r, lines.join("\n"));
        return r.ok ? 0 : 1;
      }
      case "reconcile": {
        need(1);
        const r = await post<ReconcileReport>(`/reconcile/${encodeURIComponent(rest[0]!)}`);
        const lines = [
          `${r.bucket}: ${r.actualObjects} objects, ${r.expectedObjects} expected, ${r.anomalies.length} anomalies`,
          ...r.anomalies.map((a) =>
            `  ${a.op} ${a.key}` + (a.actual ? ` (modified ${a.actual.lastModified})` : "") +
            (a.lastRecord ? ` last journaled ${a.lastRecord.op} #${a.lastRecord.seq} at ${a.lastRecord.time}` : "")
          ),
        ];
        out(r, lines.join("\n"));
        return r.anomalies.length === 0 ? 0 : 1;
      }
      case "proof": {
        need(1);
        const query = size ? `?size=${whole(size)}` : "";
        const p = await get<{
          seq: number;
          treeSize: number;
          rootHash: string;
          proof: string[];
          data: string;
          checkpoint?: string;
        }>(`/records/${whole(rest[0]!)}/proof${query}`);
        const root = await signedRoot(p.treeSize, p.checkpoint, p.rootHash);
        const included = verifyInclusion(p.seq, p.treeSize, leafHashText(p.data), p.proof.map(fromHex), root);
        const result = { ...p, signed: p.checkpoint !== undefined, verified: included };
        out(
          result,
          `record ${p.seq} in tree of size ${p.treeSize}: ${included ? "VERIFIED" : "NOT VERIFIED"}` +
            (p.checkpoint ? " against the signed checkpoint" : " against the current (unsigned) root") +
            `\n${p.data}`,
        );
        return included ? 0 : 1;
      }
      case "consistency": {
        need(2);
        const c = await get<{ from: number; to: number; fromRoot: string; toRoot: string; proof: string[] }>(
          `/consistency?from=${whole(rest[0]!)}&to=${whole(rest[1]!)}`,
        );
        const notes = (await get<{ checkpoints: CheckpointInfo[] }>("/checkpoints")).checkpoints;
        const from = await signedRoot(c.from, notes.find((n) => n.size === c.from)?.note, c.fromRoot);
        const to = await signedRoot(c.to, notes.find((n) => n.size === c.to)?.note, c.toRoot);
        const ok = verifyConsistency(c.from, c.to, from, to, c.proof.map(fromHex));
        out({ ...c, verified: ok }, `tree ${c.from} is a prefix of tree ${c.to}: ${ok ? "VERIFIED" : "NOT VERIFIED"}`);
        return ok ? 0 : 1;
      }
      case "checkpoint": {
        need(0);
        const cp = await post<CheckpointInfo>("/checkpoints");
        out(cp, cp.note);
        return 0;
      }
      case "export": {
        need(1);
        const manifest = await writeExportDir(await client.stream("/integrity/export"), rest[0]!);
        out(manifest, `exported ${manifest.size} records to ${rest[0]}`);
        return 0;
      }
      default:
        io.print(USAGE);
        return 2;
    }
  } catch (err) {
    io.print(json ? JSON.stringify({ error: (err as Error).message }) : `error: ${(err as Error).message}`);
    return 2;
  }

  /** The root to check against: the signed one when a checkpoint exists (its signature checked). */
  async function signedRoot(treeSize: number, note: string | undefined, unsigned: string): Promise<Uint8Array> {
    if (!note) return fromHex(unsigned);
    const status = await get<IntegrityStatus>("/status");
    const cp = await openCheckpoint(note, await parseVerifierKey(status.verifierKey));
    if (cp.size !== treeSize) throw new AppError("Integrity", `Checkpoint is for size ${cp.size}, not ${treeSize}`);
    return cp.rootHash;
  }
}
