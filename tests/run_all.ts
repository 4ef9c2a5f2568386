/**
 * The one test command (`deno task test`): every Deno test, then the Perl plugin's prove suite, then one
 * closing line `N passed, N failed` over both.
 *
 * Extra arguments are passed to `deno test` (e.g. a path filter); `--no-perl` skips prove for quick local runs.
 *
 * @module
 */

import { ensureTools } from "./ensure_tools.ts";

const args = [...Deno.args];
const skipPerl = args.includes("--no-perl");
const denoArgs = args.filter((a) => a !== "--no-perl");

async function run(
  cmd: string,
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "inherit", env }).spawn();
  const decoder = new TextDecoder();
  let out = "";
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    out += text;
    await Deno.stdout.write(chunk);
  }
  const status = await child.status;
  return { code: status.code, out };
}

function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

let passed = 0;
let failed = 0;

await ensureTools();

const paths = denoArgs.length > 0 ? denoArgs : ["src/", "tui/", "tests/", "bench/"];
const deno = await run(Deno.execPath(), ["test", "-A", "--no-check=remote", ...paths], { NO_COLOR: "1" });
const summary = stripAnsi(deno.out).match(/(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
if (summary) {
  passed += Number(summary[2]);
  failed += Number(summary[3]);
} else if (deno.code !== 0) {
  failed += 1;
  console.error("deno test did not finish with a summary (exit code " + deno.code + ")");
}

if (!skipPerl && denoArgs.length === 0) {
  const prove = await run("prove", ["-r", "-I", "perl", "perl/t"], { DENO_BIN: Deno.execPath() });
  const total = prove.out.match(/Tests=(\d+)/);
  const failedSubtests = [...prove.out.matchAll(/Failed (\d+)\/(\d+) subtests/g)].reduce((n, m) => n + Number(m[1]), 0);
  const erroredFiles = [...prove.out.matchAll(/Wstat: (\d+)/g)].length;
  if (total) {
    failed += failedSubtests;
    passed += Number(total[1]) - failedSubtests;
  }
  if (prove.code !== 0 && failedSubtests === 0) failed += Math.max(1, erroredFiles);
}

console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed > 0 ? 1 : 0);
