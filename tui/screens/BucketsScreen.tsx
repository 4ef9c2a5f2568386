/**
 * Buckets: list with their backend, create (on the default backend), delete when empty.
 *
 * @module
 */
import type { BucketView } from "../../src/api/client.ts";
import { ResourceScreen } from "../components/ResourceScreen.tsx";
import type { ScreenProps } from "./screen_props.ts";

export function BucketsScreen({ client, onCapture }: ScreenProps) {
  return (
    <ResourceScreen<BucketView>
      onCapture={onCapture}
      title="Buckets"
      load={() => client.buckets.list()}
      row={(b) => `${b.name.padEnd(40)} ${b.backend}${b.default ? "  (default)" : ""}`}
      empty="No buckets"
      actions={[
        {
          key: "n",
          label: "new bucket",
          prompt: "Bucket name",
          run: async (_b, name) => `Created ${(await client.buckets.create({ name })).name}`,
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
