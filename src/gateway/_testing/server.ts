/** Serve a test harness's gateway on 127.0.0.1 (random port) for real S3 clients, as the appliance serves it. @module */
import { createLogger } from "../../log.ts";
import type { IncomingRequest } from "../mod.ts";
import { serveGateway } from "../node_server.ts";
import { ADMIN, type Harness, sdkSigner } from "./harness.ts";

export interface TestServer {
  endpoint: string;
  port: number;
  /** Headers of every request received, in order (to assert what real clients send). */
  seen: Headers[];
  close(): Promise<void>;
}

export async function serveHarness(h: Harness): Promise<TestServer> {
  const seen: Headers[] = [];
  const recording = {
    handle: (req: IncomingRequest, info: { remoteAddr: string }) => {
      const headers = new Headers();
      req.headers.forEach((value, name) => headers.set(name, value));
      seen.push(headers);
      return h.gateway.handle(req, info);
    },
  };
  const server = await serveGateway(
    "s3",
    { hostname: "127.0.0.1", port: 0 },
    recording,
    createLogger({ level: "warn" }),
  );
  const port = server.address.port;
  return { endpoint: `http://127.0.0.1:${port}`, port, seen, close: async () => void await server.stop(5_000) };
}

type SignedRequest = { method: string; path: string; headers?: Record<string, string> };

/** The headers of a request to the server on `port` signed by the admin key (`UNSIGNED-PAYLOAD`). */
export async function signedRequestHeaders(port: number, request: SignedRequest): Promise<Record<string, string>> {
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
  return signed.headers;
}

/** The head of a request to the server on `port` signed by the admin key (`UNSIGNED-PAYLOAD`), blank line included. */
export async function signedRequestHead(port: number, request: SignedRequest): Promise<string> {
  const headers = await signedRequestHeaders(port, request);
  return [
    `${request.method} ${request.path} HTTP/1.1`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ]
    .join("\r\n");
}

/**
 * Opens a raw connection to the server on `port` and sends the head of a request signed by the admin key
 * (`UNSIGNED-PAYLOAD`); the caller sends any body and reads the answer.
 */
export async function openSignedRequest(port: number, request: SignedRequest): Promise<Deno.Conn> {
  const head = await signedRequestHead(port, request);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  return conn;
}
