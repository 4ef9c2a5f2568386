/**
 * `s3plugin blockdev …`: volumes, snapshots, clones and LUN mapping of a running appliance, through the API.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type ApiTarget, createApiClient } from "../api/client.ts";
import { AppError } from "../errors.ts";
import type { SessionInfo } from "../iscsi/types.ts";
import type { TargetView, VolumeView } from "./manager.ts";
import type { SnapshotInfo } from "./snapshots.ts";

const USAGE = `Usage: s3plugin blockdev <command> [--json]
  volume create NAME --size SIZE [--backend ID] [--bucket NAME] [--chunk-size SIZE] [--block-size 512|4096]
  volume list
  volume resize NAME --size SIZE          grow a volume
  volume delete NAME
  snapshot create VOLUME NAME
  snapshot list VOLUME
  snapshot rollback VOLUME NAME           (the volume must be unmapped)
  snapshot delete VOLUME NAME
  clone VOLUME SNAPSHOT NEW-NAME
  map VOLUME --iqn IQN [--lun N] [--chap-user USER --chap-secret SECRET]
  unmap VOLUME
  targets                                 targets and their LUNs (CHAP secrets are never shown)
  sessions                                logged-in iSCSI initiators
  gc                                      delete chunk objects nothing references
SIZE: bytes, or a number with K, M, G or T (powers of 1024), e.g. 256M, 10G`;

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new AppError("InvalidArgument", `Invalid size "${text}": use bytes or a number with K, M, G or T`);
  }
  return bytes;
}

function formatSize(bytes: number): string {
  for (const unit of ["T", "G", "M", "K"]) {
    if (bytes >= UNITS[unit]! && bytes % UNITS[unit]! === 0) return `${bytes / UNITS[unit]!}${unit}`;
  }
  return `${bytes}`;
}

function describeVolume(v: VolumeView): string {
  const mapping = v.mapping ? `${v.mapping.iqn} lun ${v.mapping.lun}` : "unmapped";
  const dirty = v.stats ? `  dirty ${v.stats.dirtyBytes}` : "";
  return `${v.name}  ${formatSize(v.sizeBytes)}  ${v.backend}:${v.bucket}/${v.prefix}  chunk ${
    formatSize(v.chunkSize)
  }  ${mapping}${dirty}`;
}

export async function runCli(
  args: string[],
  api: ApiTarget,
  out: (line: string) => void = console.log,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      size: { type: "string" },
      backend: { type: "string" },
      bucket: { type: "string" },
      "chunk-size": { type: "string" },
      "block-size": { type: "string" },
      iqn: { type: "string" },
      lun: { type: "string" },
      "chap-user": { type: "string" },
      "chap-secret": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const { request } = createApiClient(api);
  const print = (value: unknown, text: () => string) => out(values.json ? JSON.stringify(value, null, 2) : text());
  const enc = encodeURIComponent;
  const words = positionals;
  const need = (count: number, what: string): string[] => {
    const rest = words.slice(words[0] === "volume" || words[0] === "snapshot" ? 2 : 1);
    if (rest.length < count) throw new AppError("InvalidArgument", `"blockdev ${words.join(" ")}" needs ${what}`);
    return rest;
  };
  const size = () => {
    if (!values.size) throw new AppError("InvalidArgument", "--size is required");
    return parseSize(values.size);
  };
  const command = ["volume", "snapshot"].includes(words[0] ?? "") ? `${words[0]} ${words[1] ?? ""}` : words[0];
  switch (command) {
    case "volume create": {
      const [name] = need(1, "a volume name");
      const v = await request<VolumeView>("POST", "/blockdev/volumes", {
        name,
        sizeBytes: size(),
        ...(values.backend ? { backend: values.backend } : {}),
        ...(values.bucket ? { bucket: values.bucket } : {}),
        ...(values["chunk-size"] ? { chunkSize: parseSize(values["chunk-size"]) } : {}),
        ...(values["block-size"] ? { blockSize: parseSize(values["block-size"]) } : {}),
      });
      print(v, () => describeVolume(v));
      return 0;
    }
    case "volume list": {
      const list = await request<VolumeView[]>("GET", "/blockdev/volumes");
      print(list, () => list.map(describeVolume).join("\n") || "(no volumes)");
      return 0;
    }
    case "volume resize": {
      const [name] = need(1, "a volume name");
      const v = await request<VolumeView>("PATCH", `/blockdev/volumes/${enc(name!)}`, { sizeBytes: size() });
      print(v, () => describeVolume(v));
      return 0;
    }
    case "volume delete": {
      const [name] = need(1, "a volume name");
      const gc = await request<{ deleted: number }>("DELETE", `/blockdev/volumes/${enc(name!)}`);
      print(gc, () => `deleted ${name} (${gc.deleted} chunk objects removed)`);
      return 0;
    }
    case "snapshot create": {
      const [volume, name] = need(2, "a volume and a snapshot name");
      const s = await request<SnapshotInfo>("POST", `/blockdev/volumes/${enc(volume!)}/snapshots`, { name });
      print(s, () => `${s.name}  ${s.createdAt}  ${s.chunks} chunks`);
      return 0;
    }
    case "snapshot list": {
      const [volume] = need(1, "a volume name");
      const list = await request<SnapshotInfo[]>("GET", `/blockdev/volumes/${enc(volume!)}/snapshots`);
      print(list, () => list.map((s) => `${s.name}  ${s.createdAt}  ${s.chunks} chunks`).join("\n") || "(none)");
      return 0;
    }
    case "snapshot rollback": {
      const [volume, name] = need(2, "a volume and a snapshot name");
      await request("POST", `/blockdev/volumes/${enc(volume!)}/snapshots/${enc(name!)}/rollback`);
      print({ volume, snapshot: name }, () => `rolled ${volume} back to ${name}`);
      return 0;
    }
    case "snapshot delete": {
      const [volume, name] = need(2, "a volume and a snapshot name");
      const gc = await request<{ deleted: number }>(
        "DELETE",
        `/blockdev/volumes/${enc(volume!)}/snapshots/${enc(name!)}`,
      );
      print(gc, () => `deleted snapshot ${name} (${gc.deleted} chunk objects removed)`);
      return 0;
    }
    case "clone": {
      const [volume, snapshot, name] = need(3, "a volume, a snapshot and a new volume name");
      const v = await request<VolumeView>(
        "POST",
        `/blockdev/volumes/${enc(volume!)}/snapshots/${enc(snapshot!)}/clone`,
        { name },
      );
      print(v, () => describeVolume(v));
      return 0;
    }
    case "map": {
      const [volume] = need(1, "a volume name");
      if (!values.iqn) throw new AppError("InvalidArgument", "--iqn is required");
      const lun = values.lun === undefined ? 0 : Number(values.lun);
      const v = await request<VolumeView>("PUT", `/blockdev/volumes/${enc(volume!)}/mapping`, { iqn: values.iqn, lun });
      if (values["chap-user"] || values["chap-secret"]) {
        await request("PUT", `/blockdev/targets/${enc(values.iqn)}/chap`, {
          user: values["chap-user"] ?? "",
          secret: values["chap-secret"] ?? "",
        });
      }
      print(v, () => describeVolume(v));
      return 0;
    }
    case "unmap": {
      const [volume] = need(1, "a volume name");
      const v = await request<VolumeView>("DELETE", `/blockdev/volumes/${enc(volume!)}/mapping`);
      print(v, () => describeVolume(v));
      return 0;
    }
    case "targets": {
      const list = await request<TargetView[]>("GET", "/blockdev/targets");
      print(list, () =>
        list.map((t) =>
          `${t.iqn}${t.chapUser ? `  chap ${t.chapUser}` : ""}\n` +
          t.luns.map((l) => `  lun ${l.lun}: ${l.volume}`).join("\n")
        ).join("\n") || "(no targets)");
      return 0;
    }
    case "sessions": {
      const list = await request<SessionInfo[]>("GET", "/blockdev/sessions");
      print(
        list,
        () =>
          list.map((s) => `${s.initiatorName}  ${s.remoteAddress}  ${s.targetName || "(discovery)"}  tsih ${s.tsih}`)
            .join("\n") || "(no sessions)",
      );
      return 0;
    }
    case "gc": {
      const results = await request<{ bucket: string; scanned: number; deleted: number }[]>("POST", "/blockdev/gc");
      print(
        results,
        () => results.map((r) => `${r.bucket}: ${r.deleted} of ${r.scanned} chunk objects deleted`).join("\n"),
      );
      return 0;
    }
    default:
      out(USAGE);
      return values.help || words.length === 0 ? 0 : 2;
  }
}
