/**
 * Export of the journal (format: docs/integrity-export-format.md). The API streams it as NDJSON lines
 * (`manifest`, `key`, `checkpoint`…, `record`…); `writeExportDir` turns that stream into the export directory:
 * `manifest.json`, `key.txt`, `checkpoints/<size>.note`, `records.jsonl`.
 *
 * @module
 */
import type { Integrity } from "./integrity.ts";

export const EXPORT_FORMAT = "s3plugin-integrity-export";

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: 1;
  origin: string;
  exportedAt: string;
  /** Records in `records.jsonl`. */
  size: number;
  /** Hex root of the tree over those records, as the appliance computed it (informational, unsigned). */
  rootHash: string;
  /** Set when the anchors could not be read; checkpoints then come from the database only. */
  anchorError?: string;
}

type Line =
  | ({ type: "manifest" } & ExportManifest)
  | { type: "key"; vkey: string }
  | { type: "checkpoint"; size: number; note: string; anchored: boolean }
  | { type: "record"; seq: number; data: string };

const PAGE = 5000;
const enc = new TextEncoder();
const pad = (n: number) => String(n).padStart(20, "0");

export function exportStream(integrity: Integrity, now: () => Date): ReadableStream<Uint8Array> {
  let after = -1;
  let size = 0;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const emit = (lines: Line[]) =>
        controller.enqueue(enc.encode(lines.map((l) => JSON.stringify(l) + "\n").join("")));
      if (!started) {
        started = true;
        await integrity.appender.flush();
        size = integrity.journal.size();
        const rootHash = (await integrity.journal.rootAt(size)).toHex();
        let anchorError: string | undefined;
        let vkey = integrity.signer.verifierKey;
        const notes = new Map<number, { note: string; anchored: boolean }>();
        try {
          vkey = await integrity.anchor.readKey() ?? vkey;
          for (const c of await integrity.anchor.checkpoints()) notes.set(c.size, { note: c.note, anchored: true });
        } catch (err) {
          anchorError = (err as Error).message;
        }
        for (const c of await integrity.checkpoints.all()) {
          if (!notes.has(c.size)) notes.set(c.size, { note: c.note, anchored: false });
        }
        const manifest: ExportManifest = {
          format: EXPORT_FORMAT,
          version: 1,
          origin: integrity.origin,
          exportedAt: now().toISOString(),
          size,
          rootHash,
          ...(anchorError ? { anchorError } : {}),
        };
        emit([
          { type: "manifest", ...manifest },
          { type: "key", vkey },
          ...[...notes].sort(([a], [b]) => a - b).map(([s, n]) => ({ type: "checkpoint" as const, size: s, ...n })),
        ]);
        return;
      }
      const page = await integrity.journal.scan(after, PAGE);
      const lines: Line[] = [];
      page.seqs.forEach((seq, i) => {
        if (seq < size) lines.push({ type: "record", seq, data: page.data[i]! });
      });
      after = page.lastSeq;
      if (lines.length > 0) emit(lines);
      if (page.seqs.length === 0 || after >= size - 1) controller.close();
    },
  });
}

/** Write an NDJSON export stream as an export directory; returns the manifest. */
export async function writeExportDir(body: ReadableStream<Uint8Array>, dir: string): Promise<ExportManifest> {
  await Deno.mkdir(`${dir}/checkpoints`, { recursive: true });
  const file = await Deno.open(`${dir}/records.jsonl`, { write: true, create: true, truncate: true });
  const records = file.writable.getWriter();
  let manifest: ExportManifest | undefined;
  const decoder = new TextDecoder();
  let rest = "";
  async function handle(lines: string[]): Promise<void> {
    let out = "";
    for (const text of lines) {
      if (text === "") continue;
      const line = JSON.parse(text) as Line;
      if (line.type === "record") {
        out += line.data + "\n";
      } else if (line.type === "manifest") {
        const { type: _, ...m } = line;
        manifest = m;
        await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(m, null, 2) + "\n");
      } else if (line.type === "key") {
        await Deno.writeTextFile(`${dir}/key.txt`, line.vkey + "\n");
      } else {
        await Deno.writeTextFile(`${dir}/checkpoints/${pad(line.size)}.note`, line.note);
      }
    }
    if (out) await records.write(enc.encode(out));
  }
  try {
    for await (const chunk of body) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      await handle(lines);
    }
    await handle([rest + decoder.decode()]);
    await records.close();
  } catch (err) {
    await records.abort(err);
    throw err;
  }
  if (!manifest) throw new SyntaxError("Cannot read export: the stream has no manifest");
  return manifest;
}
