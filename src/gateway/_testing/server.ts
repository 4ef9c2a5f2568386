/** Serve a test harness's gateway on 127.0.0.1 (random port) for real S3 clients. @module */
import type { Harness } from "./harness.ts";

export interface TestServer {
  endpoint: string;
  port: number;
  /** Headers of every request received, in order (to assert what real clients send). */
  seen: Headers[];
  close(): Promise<void>;
}

export function serveHarness(h: Harness): TestServer {
  const seen: Headers[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => {
      seen.push(new Headers(req.headers));
      return h.gateway.fetch(req, { remoteAddr: info.remoteAddr.hostname });
    },
  );
  const port = server.addr.port;
  return { endpoint: `http://127.0.0.1:${port}`, port, seen, close: () => server.shutdown() };
}
