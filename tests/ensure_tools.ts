/**
 * Makes sure the Debian packages the suite drives are installed (tests/apt-packages.txt): installs the missing
 * ones with apt-get when running as root, otherwise names them and fails, so no test is skipped for a missing tool.
 *
 * @module
 */

const LIST = new URL("./apt-packages.txt", import.meta.url);

/** Package names from the list file (comments and blank lines ignored). */
export function requiredPackages(text: string): string[] {
  return text.split("\n").filter((line) => !line.startsWith("#")).flatMap((line) => line.split(/\s+/)).filter(
    Boolean,
  );
}

async function isInstalled(pkg: string): Promise<boolean> {
  const out = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Status}", pkg],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return out.success && new TextDecoder().decode(out.stdout).includes("install ok installed");
}

async function apt(args: string[]): Promise<void> {
  const status = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) throw new Error(`Cannot install test tools: apt-get ${args.join(" ")} exited ${status.code}`);
}

/** Resolves once every listed package is installed; throws with the missing names when it cannot install them. */
export async function ensureTools(): Promise<void> {
  const packages = requiredPackages(await Deno.readTextFile(LIST));
  const missing: string[] = [];
  for (const pkg of packages) if (!(await isInstalled(pkg))) missing.push(pkg);
  if (missing.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new Error(`Cannot run the suite: missing Debian packages (run as root to install): ${missing.join(" ")}`);
  }
  console.error(`Installing test tools: ${missing.join(" ")}`);
  await apt(["update", "-qq"]);
  await apt(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
}
