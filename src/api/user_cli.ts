/**
 * `s3plugin user …`: S3 access keys of a running appliance, through the management API.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { AppError } from "../errors.ts";
import { type AccessKeyView, type ApiTarget, createApiClient } from "./client.ts";
import type { Grant } from "./routes/access_keys.ts";

const USAGE = `Usage: s3plugin user <command> [--json]
  list                                   list access keys
  show ID                                one access key and its grants
  create [--admin] [--description TEXT] [--grant BUCKET[/PREFIX]=read|write]…
                                         create a key; its secret is printed once
  grants ID [--grant BUCKET[/PREFIX]=read|write]…
                                         replace the grants of a key (none = no access)
  delete ID                              delete a key`;

/** `bucket/some/prefix=write` → a grant. */
export function parseGrant(text: string): Grant {
  const m = /^([^/=]+)(?:\/([^=]*))?=(read|write)$/.exec(text);
  if (!m) throw new AppError("InvalidArgument", `Invalid --grant "${text}": expected BUCKET[/PREFIX]=read|write`);
  return { bucket: m[1]!, prefix: m[2] ?? "", permission: m[3] as Grant["permission"] };
}

function describe(key: AccessKeyView): string {
  const grants = key.admin
    ? "all buckets (admin)"
    : key.grants.map((g) => `${g.bucket}/${g.prefix}=${g.permission}`).join(", ") || "(none)";
  return `${key.accessKeyId}  ${key.description || "-"}  ${grants}`;
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
      admin: { type: "boolean", default: false },
      description: { type: "string" },
      grant: { type: "string", multiple: true },
      help: { type: "boolean", default: false },
    },
  });
  const [command, id] = positionals;
  const client = createApiClient(api);
  const print = (value: unknown, text: () => string) => out(values.json ? JSON.stringify(value, null, 2) : text());
  const needId = () => {
    if (!id) throw new AppError("InvalidArgument", `"user ${command}" needs an access key id`);
    return id;
  };
  const grants = () => (values.grant ?? []).map(parseGrant);
  switch (command) {
    case "list": {
      const keys = await client.accessKeys.list();
      print(keys, () => keys.map(describe).join("\n") || "(no access keys)");
      return 0;
    }
    case "show": {
      const key = await client.accessKeys.get(needId());
      print(key, () => describe(key));
      return 0;
    }
    case "create": {
      const key = await client.accessKeys.create({
        admin: values.admin,
        description: values.description ?? "",
        grants: grants(),
      });
      print(key, () => `${describe(key)}\nsecretAccessKey: ${key.secretAccessKey}  (shown only now)`);
      return 0;
    }
    case "grants": {
      const key = await client.accessKeys.setGrants(needId(), grants());
      print(key, () => describe(key));
      return 0;
    }
    case "delete":
      await client.accessKeys.delete(needId());
      print({ deleted: id }, () => `deleted ${id}`);
      return 0;
    default:
      out(USAGE);
      return values.help ? 0 : 2;
  }
}
