/**
 * Storage backends: list (secrets redacted by the API) and connection test.
 *
 * @module
 */
import type { BackendView } from "../../src/api/client.ts";
import { ResourceScreen } from "../components/ResourceScreen.tsx";
import type { ScreenProps } from "./screen_props.ts";

function where(b: BackendView): string {
  return String(b.config.endpoint ?? b.config.root ?? "");
}

export function BackendsScreen({ client, onCapture }: ScreenProps) {
  return (
    <ResourceScreen<BackendView>
      onCapture={onCapture}
      title="Storage backends"
      load={() => client.backends.list()}
      row={(b) => `${b.id.padEnd(16)} ${b.kind.padEnd(4)} ${where(b)}${b.default ? "  (default)" : ""}`}
      empty="No backends"
      actions={[
        {
          key: "t",
          label: "test connection",
          needsItem: true,
          run: async (b) => {
            const r = await client.backends.test(b!.id);
            return r.ok ? `${b!.id}: ok in ${r.latencyMs} ms, ${r.buckets} bucket(s)` : `${b!.id}: FAILED — ${r.error}`;
          },
        },
      ]}
    />
  );
}
