/**
 * The page cache as the gateway bench and the direct-read tests see it from outside: the cached pages of files
 * dropped (written back first: dirty pages cannot be dropped), and counted as `fincore` counts them.
 *
 * @module
 */

/** Runs a `find` over `paths` that ends in `-exec … {} +`; its standard output. */
async function find(paths: string[], rest: string): Promise<string> {
  const quoted = paths.map((p) => `'${p}'`).join(" ");
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `find ${quoted} ${rest}`],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`find ${quoted} ${rest} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** Writes back and drops the cached pages of every file under `dir`. */
export async function dropPageCache(dir: string): Promise<void> {
  await find([dir], "-type f -exec sync -d {} +");
  await find([dir], `-type f -exec sh -c 'for f; do dd if="$f" iflag=nocache count=0 status=none; done' drop {} +`);
}

/** Bytes in the page cache of the files under `paths` (files or directories), of those named `name` when given. */
export async function cachedBytes(paths: string | string[], name?: string): Promise<number> {
  const out = await find(
    typeof paths === "string" ? [paths] : paths,
    `-type f ${name ? `-name '${name}' ` : ""}-exec fincore --bytes --noheadings --output RES {} +`,
  );
  return out.split("\n").reduce((n, line) => n + (Number(line.trim()) || 0), 0);
}
