/**
 * The bench's servers in processes of their own (`_s3rver.ts`, `_null_http.ts`): each prints `{"port": N}` once
 * listening.
 *
 * @module
 */

export interface ServerProcess {
  pid: number;
  port: number;
  /** Stops the server (SIGTERM) and waits for it. */
  stop(): Promise<void>;
}

/** Runs `script` (relative to this directory) with `args` and waits until it reports its port. */
export async function spawnServer(script: string, args: string[] = []): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stop = async () => {
    child.kill("SIGTERM");
    await child.status;
    await lines.cancel();
  };
  try {
    const first = await lines.read();
    if (first.done) throw new Error(`${script} ended before it reported its port`);
    const { port } = JSON.parse(first.value);
    return { pid: child.pid, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
