/**
 * S3 access keys: list with grants, create (the secret is shown once), delete.
 *
 * @module
 */
import type { AccessKeyView } from "../../src/api/client.ts";
import { ResourceScreen } from "../components/ResourceScreen.tsx";
import type { ScreenProps } from "./screen_props.ts";

function grants(k: AccessKeyView): string {
  if (k.admin) return "admin";
  return k.grants.map((g) => `${g.bucket}/${g.prefix}=${g.permission}`).join(", ") || "no access";
}

export function AccessKeysScreen({ client, onCapture }: ScreenProps) {
  return (
    <ResourceScreen<AccessKeyView>
      onCapture={onCapture}
      title="Access keys"
      load={() => client.accessKeys.list()}
      row={(k) => `${k.accessKeyId}  ${(k.description || "-").padEnd(30)} ${grants(k)}`}
      empty="No access keys"
      actions={[
        {
          key: "n",
          label: "new key (no grants)",
          prompt: "Description",
          run: async (_k, description) => {
            const key = await client.accessKeys.create({ description });
            return `Created ${key.accessKeyId} — secret (shown only now): ${key.secretAccessKey}`;
          },
        },
        {
          key: "d",
          label: "delete",
          needsItem: true,
          confirm: (k) => `Delete access key ${k.accessKeyId}?`,
          run: async (k) => {
            await client.accessKeys.delete(k!.accessKeyId);
            return `Deleted ${k!.accessKeyId}`;
          },
        },
      ]}
    />
  );
}
