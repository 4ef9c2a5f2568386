/** Runs a client tool for a gateway test (a clean environment; PATH and `env` only). @module */

/** Runs `cmd` with `args`; its exit code and output, whatever the code. */
export async function runClientTool(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env: { PATH: "/usr/bin:/bin", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
