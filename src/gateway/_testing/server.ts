/** Serve a test harness's gateway on 127.0.0.1 (random port) for real S3 clients. @module */
import { ADMIN, type Harness, sdkSigner } from "./harness.ts";

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

/**
 * Opens a raw connection to the server on `port` and sends the head of a request signed by the admin key
 * (`UNSIGNED-PAYLOAD`); the caller sends any body and reads the answer.
 */
export async function openSignedRequest(
  port: number,
  request: { method: string; path: string; headers?: Record<string, string> },
): Promise<Deno.Conn> {
  const { method, path, headers = {} } = request;
  const signed = await sdkSigner(ADMIN).sign({
    method,
    protocol: "http:",
    hostname: "127.0.0.1",
    port,
    path,
    query: {},
    headers: { host: `127.0.0.1:${port}`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", ...headers },
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = [`${method} ${path} HTTP/1.1`, ...Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`), "", ""];
  await conn.write(new TextEncoder().encode(head.join("\r\n")));
  return conn;
}
