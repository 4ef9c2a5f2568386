/**
 * `s3plugin db backup FILE | --dir DIR [--keep N]`: consistent copies of a running appliance's database, through the
 * management API.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ApiTarget, createApiClient } from "../api/client.ts";
import { AppError } from "../errors.ts";

const USAGE = `Usage: s3plugin db backup FILE | --dir DIR [--keep N]
  backup FILE              write a copy of the database, taken now while the appliance goes on working, to FILE
                           (mode 0600; an existing FILE is not overwritten)
  backup --dir DIR         write it to DIR/s3plugin-<UTC time>.db instead
         [--keep N]        and remove all but the newest N such copies in DIR`;

/** Copies in a backup dir are named so that their names sort by age. */
const DIR_COPY = /^s3plugin-\d{8}T\d{6}Z\.db$/;

export async function runCli(
  args: string[],
  api: ApiTarget,
  out: (line: string) => void = console.log,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { dir: { type: "string" }, keep: { type: "string" } },
  });
  const [command, file, ...extra] = positionals;
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (
    command !== "backup" || extra.length > 0 || (file === undefined) === (values.dir === undefined) ||
    (keep !== undefined && (values.dir === undefined || !Number.isInteger(keep) || keep < 1))
  ) {
    out(USAGE);
    return 2;
  }
  let target = file;
  if (values.dir !== undefined) {
    await Deno.mkdir(values.dir, { recursive: true, mode: 0o700 });
    target = join(values.dir, `s3plugin-${new Date().toISOString().replace(/[-:]|\.\d+/g, "")}.db`);
  }
  await writeBackup(api, target!);
  out(`${target}: ${(await Deno.stat(target!)).size} bytes`);
  if (values.dir !== undefined && keep !== undefined) {
    const copies = [...Deno.readDirSync(values.dir)].filter((e) => e.isFile && DIR_COPY.test(e.name))
      .map((e) => e.name).sort();
    for (const old of copies.slice(0, -keep)) {
      await Deno.remove(join(values.dir, old));
      out(`removed ${join(values.dir, old)}`);
    }
  }
  return 0;
}

async function writeBackup(api: ApiTarget, target: string): Promise<void> {
  const body = await createApiClient(api).database.backup();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(target, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    await body.cancel();
    throw new AppError("InvalidArgument", `Cannot create ${target}: ${(err as Error).message}`);
  }
  try {
    await body.pipeTo(file.writable);
  } catch (err) {
    await Deno.remove(target).catch(() => {});
    throw new AppError("Unavailable", `The backup was cut off; ${target} is removed: ${(err as Error).message}`);
  }
}
