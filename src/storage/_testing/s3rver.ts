/**
 * s3rver (npm) as a third-party S3 peer for tests: in-process, on 127.0.0.1, a fresh temp directory, and
 * stoppable/restartable on the same port so tests can take the server away under a client.
 *
 * @module
 */
import S3rver from "s3rver";

/** The fixed credentials s3rver accepts. */
export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface S3rverPeer {
  endpoint: string;
  /** Stop serving (the data directory stays). */
  stop(): Promise<void>;
  /** Serve again on the same port and directory. */
  restart(): Promise<void>;
  /** Stop if running and remove the data directory. */
  close(): Promise<void>;
}

/** Starts s3rver on a free port with its data in a new temp directory. */
export async function startS3rver(prefix = "s3rver-"): Promise<S3rverPeer> {
  const directory = await Deno.makeTempDir({ prefix });
  let port = 0;
  let server: S3rver | null = null;
  async function serve() {
    server = new S3rver({ port, address: "127.0.0.1", silent: true, directory });
    ({ port } = await server.run());
  }
  async function stop() {
    const running = server;
    server = null;
    await running?.close();
  }
  await serve();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop,
    restart: serve,
    async close() {
      await stop();
      await Deno.remove(directory, { recursive: true });
    },
  };
}
