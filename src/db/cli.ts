/**
 * `s3plugin db backup FILE`: a consistent copy of a running appliance's database, through the management API.
 *
 * @module
 */
import { type ApiTarget, createApiClient } from "../api/client.ts";
import { AppError } from "../errors.ts";

const USAGE = `Usage: s3plugin db backup FILE
  backup FILE   write a copy of the database, taken now while the appliance goes on working, to FILE (mode 0600;
                an existing FILE is not overwritten)`;

export async function runCli(
  args: string[],
  api: ApiTarget,
  out: (line: string) => void = console.log,
): Promise<number> {
  const [command, target, ...extra] = args;
  if (command !== "backup" || !target || extra.length > 0) {
    out(USAGE);
    return 2;
  }
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
  const { size } = await Deno.stat(target);
  out(`${target}: ${size} bytes`);
  return 0;
}
