/**
 * Buckets: list with their backend and the settings S3 clients gave them, create (on the default backend), delete
 * when empty, and what one holds (objects, bytes, unfinished multipart uploads).
 *
 * @module
 */
import type { BucketUsage, BucketView } from "../../src/api/client.ts";
import { ResourceScreen } from "../components/ResourceScreen.tsx";
import { formatBytes } from "../format.ts";
import type { ScreenProps } from "./screen_props.ts";

/** What S3 clients set on the bucket, in a few words: `lifecycle 2 · cors 1 · owner=pve`. */
function settingsOf(b: BucketView): string {
  const parts = [
    ...(b.lifecycleRules > 0 ? [`lifecycle ${b.lifecycleRules}`] : []),
    ...(b.corsRules > 0 ? [`cors ${b.corsRules}`] : []),
    ...Object.entries(b.tags).map(([key, value]) => `${key}=${value}`),
  ];
  return parts.join(" · ");
}

/** `media: 12 objects, 1.20 GiB; 2 unfinished multipart uploads hold 50.0 MiB (walked in 35 ms)`. */
function usageLine(u: BucketUsage): string {
  const uploads = u.multipartUploads === 0
    ? "no unfinished multipart uploads"
    : `${u.multipartUploads} unfinished multipart upload${u.multipartUploads === 1 ? " holds" : "s hold"} ${
      formatBytes(u.multipartBytes)
    }`;
  return `${u.bucket}: ${u.objects} object${u.objects === 1 ? "" : "s"}, ${formatBytes(u.bytes)}; ${uploads} ` +
    `(walked in ${u.scanMs} ms)`;
}

export function BucketsScreen({ client, onCapture }: ScreenProps) {
  return (
    <ResourceScreen<BucketView>
      onCapture={onCapture}
      title="Buckets"
      load={() => client.buckets.list()}
      row={(b) => `${b.name.padEnd(40)} ${b.backend.padEnd(12)} ${settingsOf(b)}${b.default ? "  (default)" : ""}`}
      empty="No buckets"
      actions={[
        {
          key: "n",
          label: "new bucket",
          prompt: "Bucket name",
          run: async (_b, name) => `Created ${(await client.buckets.create({ name })).name}`,
        },
        {
          key: "u",
          label: "usage",
          needsItem: true,
          run: async (b) => usageLine(await client.buckets.usage(b!.name, { refresh: true })),
        },
        {
          key: "d",
          label: "delete",
          needsItem: true,
          confirm: (b) => `Delete bucket ${b.name}?`,
          run: async (b) => {
            await client.buckets.delete(b!.name);
            return `Deleted ${b!.name}`;
          },
        },
      ]}
    />
  );
}
