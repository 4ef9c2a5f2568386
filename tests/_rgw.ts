/**
 * A throw-away Ceph RADOS Gateway for tests (../shared/tools/radosgw/start.sh: one-node cluster in RAM, its own lab
 * dir, a free port). Needs root and the ceph packages (start.sh installs them; .ci/run does in CI). Ceph's monitor
 * uses fixed ports 3300/6789, so only one lab runs at a time; deno test runs test files one after another.
 */
import { freePort } from "./_ports.ts";

const tools = new URL("../../shared/tools/radosgw/", import.meta.url).pathname;

export const RGW_KEYS = {
  accessKeyId: "RGWTESTACCESSKEY0001",
  secretAccessKey: "rgw-test-secret-key-0001-xxxxxxxxxxxxxxxx",
};

export interface Rgw {
  endpoint: string;
  /** Stops the daemons this lab started (by the PIDs start.sh recorded) and removes the lab dir. */
  stop(): Promise<void>;
}

async function script(name: string, env: Record<string, string>): Promise<void> {
  const out = await new Deno.Command("bash", { args: [`${tools}${name}`], env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`${name} failed (exit ${out.code}):\n${text}`);
  }
}

/** Starts a lab; fails loudly (never skips) when it cannot. */
export async function startRgw(opts: { memstoreGb?: number } = {}): Promise<Rgw> {
  const lab = await Deno.makeTempDir({ prefix: "rgw-lab-" });
  const env = { CEPH_LAB: `${lab}/lab`, RGW_PORT: String(freePort()), MEMSTORE_GB: String(opts.memstoreGb ?? 1) };
  const stop = async () => {
    try {
      await script("stop.sh", env);
    } finally {
      await Deno.remove(lab, { recursive: true });
    }
  };
  try {
    await script("start.sh", env);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { endpoint: `http://127.0.0.1:${env.RGW_PORT}`, stop };
}

/** Runs `fn` against a fresh RGW lab, stopped afterwards whatever happens. */
export async function withRgw<T>(fn: (rgw: Rgw) => Promise<T>, opts: { memstoreGb?: number } = {}): Promise<T> {
  const rgw = await startRgw(opts);
  try {
    return await fn(rgw);
  } finally {
    await rgw.stop();
  }
}
