/**
 * The S3 port's HTTP/1.1 server when it runs without TLS: Deno's `node:http` in front of the gateway. (With TLS the
 * port runs on `Deno.serve`, which also speaks HTTP/2.)
 *
 * Why not `Deno.serve`, which the API port uses: it sends a streamed response body 64 KiB per `sendto`, and on the
 * bench machine that caps a download at 1,400-1,520 MiB/s at 0.63 ms of CPU per MiB, below the disk's cold read;
 * `node:http` writes each 1 MiB chunk whole, 3,400-4,300 MiB/s at 0.26 ms (`deno task bench http_servers`). Requests
 * reach the gateway as an `IncomingRequest` (headers read once from the raw list, no fetch `Request`), and its
 * `S3Answer` is written as it is (no fetch `Response`).
 *
 * Conventions kept from `serveHttp`: a bounded graceful stop (new requests get 503, running ones finish), clear bind
 * errors, the bound port reported back. `Expect: 100-continue` is answered when the gateway first reads the body, so a
 * request refused before (a bad signature, a missing bucket) never has its body sent (`lingerAfter`).
 *
 * @module
 */
import http from "node:http";
import type { Socket } from "node:net";
import { formatListenAddress, type ListenAddress } from "../config.ts";
import { concatBytes } from "../bytes.ts";
import { AppError } from "../errors.ts";
import { type S3Answer, s3Answer } from "./answer.ts";
import { releaseSent } from "../http_handoff.ts";
import { ReportedBodyFailure, requestTracker, type RunningHttpServer } from "../http_server.ts";
import type { Logger } from "../log.ts";
import type { Gateway } from "./mod.ts";
import { type HeaderReader, type IncomingRequest, pathOf, readHeaderList } from "./request_headers.ts";
import { S3Error } from "./s3_errors.ts";
import { MAX_HEADER_BYTES, stoppingRefusal } from "./gateway.ts";

/** Bytes of a request body buffered ahead of the gateway before the socket is paused (two of the store's blocks). */
const BODY_BYTES_AHEAD = 2 * 1024 * 1024;
/**
 * A connection with no request running on which nothing arrives for this long is closed: no head yet, a head that
 * stopped half-way, a kept-alive connection left idle (default of `idleMs`).
 */
const IDLE_MS = 60_000;
/** How long a connection closed after an early answer still reads what the client sends (`lingerAfter`). */
const LINGER_MS = 10_000;

/**
 * The body of `req` as a stream; `onFirstRead` runs when the gateway first asks for it. Chunks that arrived before the
 * client went away are still read before the stream fails, as the gateway counts what came in.
 */
function requestBody(req: http.IncomingMessage, onFirstRead: () => void): ReadableStream<Uint8Array> {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | undefined;
  let paused = false;
  let wake: (() => void) | undefined;
  const resume = () => {
    if (!paused) return;
    paused = false;
    req.resume();
  };
  req.on("data", (chunk: Uint8Array) => {
    queue.push(chunk);
    queued += chunk.byteLength;
    if (queued >= BODY_BYTES_AHEAD && !paused) {
      paused = true;
      req.pause();
    }
    wake?.();
  });
  req.on("end", () => {
    ended = true;
    wake?.();
  });
  const fail = (err: Error) => {
    failure ??= err;
    wake?.();
  };
  req.on("error", fail);
  req.on("close", () => {
    if (!req.complete) fail(new Error("The client closed the connection before the body ended"));
  });
  let asked = false;
  // A byte stream: a reader that brings its buffer (the fs store's 1 MiB blocks) gets it filled from every chunk that
  // has arrived, in one read; a default reader gets the chunks as they came.
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      if (!asked) {
        asked = true;
        onFirstRead();
      }
      const request = controller.byobRequest;
      // A reader's buffer is filled whole unless the body ends first: fewer, fuller reads.
      const wanted = request?.view ? request.view.byteLength : 1;
      while (queued < wanted && !ended && failure === undefined) {
        resume();
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
      if (queue.length > 0) {
        if (request?.view) {
          const view = new Uint8Array(request.view.buffer, request.view.byteOffset, request.view.byteLength);
          let filled = 0;
          while (queue.length > 0 && filled < view.byteLength) {
            const head = queue[0]!;
            const n = Math.min(head.byteLength, view.byteLength - filled);
            view.set(n === head.byteLength ? head : head.subarray(0, n), filled);
            filled += n;
            if (n < head.byteLength) queue[0] = head.subarray(n);
            else releaseRead(queue.shift()!);
          }
          queued -= filled;
          request.respond(filled);
        } else {
          const chunk = queue.shift()!;
          queued -= chunk.byteLength;
          controller.enqueue(chunk);
        }
        if (queued < BODY_BYTES_AHEAD / 2) resume();
        return;
      }
      if (failure !== undefined) return controller.error(failure);
      controller.close();
      request?.respond(0);
    },
    cancel() {
      // What the client still sends is read and dropped, so the connection can carry the next request.
      queue.length = 0;
      queued = 0;
      req.removeAllListeners("data");
      req.resume();
    },
  });
}

/**
 * Frees the memory of a body chunk copied out, when the chunk is all of the buffer one socket read filled (the parser
 * is done with such a buffer): that memory would otherwise wait for V8's garbage collector, which a large upload keeps
 * busy (0.4 ms of a helper thread per MiB, measured).
 */
function releaseRead(chunk: Uint8Array): void {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) (chunk.buffer as ArrayBuffer).transfer(0);
}

/** Whether a request with `headers` announces a body (a length above zero, or chunked transfer coding). */
function hasBody(headers: HeaderReader): boolean {
  const length = headers.get("content-length");
  return headers.has("transfer-encoding") || (length !== null && length !== "0");
}

/** Writes `body` to `res`, each chunk released once written; a client gone cancels `body`. */
async function writeBody(res: http.ServerResponse, body: ReadableStream<Uint8Array>, logger: Logger, name: string) {
  const reader = body.getReader();
  let closed = res.destroyed;
  let wake: (() => void) | undefined;
  res.once("close", () => {
    closed = true;
    wake?.();
  });
  try {
    while (!closed) {
      const { done, value } = await reader.read();
      if (done) return void res.end();
      if (!res.write(value, () => releaseSent(value)) && !closed) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          res.once("drain", resolve);
        });
      }
    }
    await reader.cancel(new Error("The client closed the connection")).catch(() => {});
  } catch (err) {
    if (!(err instanceof ReportedBodyFailure)) logger.error(`${name}: response body failed`, { error: String(err) });
    res.destroy();
  }
}

/**
 * For an answer sent before the client got `100 Continue`: the client may now send the body it announced, or not
 * (botocore does not, and would reuse the connection). So the answer says `connection: close`, and the connection is
 * then closed for writing only: what the client still sends is read and dropped until it closes its side (or
 * LINGER_MS pass), so that a client writing its body is not cut off (a reset) before it reads the answer.
 */
function lingerAfter(res: http.ServerResponse, socket: Socket): void {
  res.setHeader("connection", "close");
  socket.destroySoon = () => {
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once("close", () => clearTimeout(timer));
  };
}

/** Sends the gateway's answer: its status, headers and body (one in memory whole, with its length). */
async function answer(res: http.ServerResponse, response: S3Answer, logger: Logger, name: string) {
  const { status, headers, body } = response;
  const head: string[] = [];
  for (const header in headers) head.push(header, headers[header]!);
  if (body === null || body instanceof Uint8Array) {
    if (!("content-length" in headers) && status !== 204 && status !== 304) {
      head.push("content-length", String(body?.byteLength ?? 0));
    }
    if (res.destroyed) return;
    res.writeHead(status, head);
    // A body read into a pooled block (a small object) goes back to its pool once written.
    if (body) res.end(body, () => releaseSent(body));
    else res.end();
    return;
  }
  if (!res.destroyed) res.writeHead(status, head);
  await writeBody(res, body, logger, name);
}

const encoder = new TextEncoder();
/** Where a request the server refuses is taken to go; the gateway neither routes nor authenticates it. */
const NOWHERE = new URL("http://refused/");
const NO_HEADERS = readHeaderList([]);

/** A request the server refuses, for the gateway to answer with `refusal`; `sent`: what was read of it. */
function refusedRequest(
  refusal: S3Error,
  sent: { method?: string; path?: string; head?: typeof NO_HEADERS } = {},
): IncomingRequest {
  const { reader, bytes } = sent.head ?? NO_HEADERS;
  const { method = "", path = "" } = sent;
  return { method, url: NOWHERE, path, headers: reader, headerBytes: bytes, body: null, refusal };
}

/** `answer` as the bytes of an HTTP/1.1 response that closes its connection (the body is one in memory). */
function rawAnswer({ status, headers, body }: S3Answer): Uint8Array {
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(0);
  const head = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}`, `date: ${new Date().toUTCString()}`];
  for (const header in headers) head.push(`${header}: ${headers[header]}`);
  head.push(`content-length: ${bytes.byteLength}`, "connection: close", "", "");
  return concatBytes([encoder.encode(head.join("\r\n")), bytes]);
}

/** Serves `gateway` on `address` until stopped. */
export function serveGateway(
  name: string,
  address: ListenAddress,
  gateway: Pick<Gateway, "handle">,
  logger: Logger,
  options: { idleMs?: number } = {},
): Promise<RunningHttpServer> {
  const idleMs = options.idleMs ?? IDLE_MS;
  /** Requests running per connection (pipelined ones count too): an idle timeout closes the connection only at none. */
  const running = new WeakMap<Socket, number>();
  /** What to do once a connection has no request running (`refuseUnreadable`). */
  const whenIdle = new WeakMap<Socket, () => void>();
  const requests = requestTracker(name, logger);

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean) {
    if (!requests.start()) {
      const sent = { method: req.method ?? "GET", path: pathOf(req.url ?? "/", NOWHERE) };
      const refused = refusedRequest(stoppingRefusal(), { ...sent, head: readHeaderList(req.rawHeaders) });
      await answer(res, await gateway.handle(refused, { remoteAddr: req.socket.remoteAddress ?? "" }), logger, name);
      return;
    }
    let continued = !expectsContinue;
    const socket = req.socket as Socket;
    running.set(socket, (running.get(socket) ?? 0) + 1);
    try {
      const { reader, bytes } = readHeaderList(req.rawHeaders);
      const host = reader.get("host") ?? `${socket.localAddress}:${socket.localPort}`;
      const target = req.url ?? "/";
      const method = req.method ?? "GET";
      const url = URL.parse(target.startsWith("/") ? `http://${host}${target}` : target);
      let incoming: IncomingRequest;
      if (url === null) {
        // Whatever body such a request has is not read: the connection goes with the answer.
        const refusal = new S3Error("InvalidURI", undefined, { headers: { connection: "close" } });
        incoming = refusedRequest(refusal, { method, path: target, head: { reader, bytes } });
      } else {
        const body = hasBody(reader)
          ? requestBody(req, () => {
            if (continued) return;
            continued = true;
            res.writeContinue();
          })
          : null;
        incoming = { method, url, path: pathOf(target, url), headers: reader, headerBytes: bytes, body };
      }
      let response: S3Answer;
      try {
        response = await gateway.handle(incoming, { remoteAddr: socket.remoteAddress ?? "" });
      } catch (err) {
        logger.error(`${name}: unhandled request error`, { error: String(err) });
        response = s3Answer("Internal error\n", 500, {});
      }
      if (!continued && !req.complete) lingerAfter(res, socket);
      await answer(res, response, logger, name);
    } finally {
      const left = running.get(socket)! - 1;
      running.set(socket, left);
      if (left === 0) whenIdle.get(socket)?.();
      requests.finish();
    }
  }

  /**
   * What the HTTP parser refused (a malformed request line or header, a header section over `maxHeaderSize`) is
   * answered as S3 answers a bad request: an XML error with request ids, and an event, then the connection closes.
   */
  async function refuseUnreadable(err: Error & { code?: string }, socket: Socket) {
    if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    // The answers of requests before it on the connection (pipelined) go first.
    if (running.get(socket)) await new Promise<void>((resolve) => whenIdle.set(socket, resolve));
    if (!socket.writable) return void socket.destroy();
    // llhttp's messages: "Parse Error: <what>", or a bare "Parse Error: Parse Error" that says nothing more.
    const detail = err.message.replace(/^(Parse Error:?\s*)+/, "");
    const refusal = err.code === "HPE_HEADER_OVERFLOW"
      ? new S3Error("RequestHeaderSectionTooLarge")
      : new S3Error("BadRequest", `The request is not valid HTTP/1.1${detail ? `: ${detail}` : ""}`);
    try {
      const refused = await gateway.handle(refusedRequest(refusal), { remoteAddr: socket.remoteAddress ?? "" });
      socket.end(rawAnswer(refused));
    } catch (error) {
      logger.error(`${name}: unhandled request error`, { error: String(error) });
      socket.destroy();
    }
  }

  const settings = {
    // Idle connections are bounded by `idleMs` (node's own head timeout is not enforced by Deno's node:http).
    requestTimeout: 0,
    keepAliveTimeout: idleMs,
    // The gateway answers an oversized header section itself (RequestHeaderSectionTooLarge); room above its limit.
    maxHeaderSize: 2 * MAX_HEADER_BYTES,
  };
  const server = http.createServer(settings);
  server.on("request", (req, res) => void serve(req, res, false));
  server.on("checkContinue", (req, res) => void serve(req, res, true));
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => void refuseUnreadable(err, socket));
  // A connection's idle timer is armed when it opens and by node after each answer (`keepAliveTimeout`); it fires after
  // `idleMs` without traffic. A running request has no time limit (a 5 GiB part on a slow link): its connection stays.
  // (Re-arming the timer around every request instead cost two timer objects per request.)
  server.on("connection", (socket: Socket) => socket.setTimeout(idleMs));
  server.on("timeout", (socket: Socket) => {
    if (!running.get(socket)) socket.destroy();
  });

  return new Promise((resolve, reject) => {
    server.once("error", (err: Error & { code?: string }) => {
      const reason = err.code === "EADDRINUSE" ? "address in use" : err.message;
      reject(
        new AppError("Unavailable", `Cannot listen on ${formatListenAddress(address)} for ${name}: ${reason}`, {
          cause: err,
        }),
      );
    });
    server.listen(address.port, address.hostname, () => {
      const bound = { hostname: address.hostname, port: (server.address() as { port: number }).port };
      logger.info(`${name} listening`, { address: formatListenAddress(bound), tls: false });
      resolve({
        address: bound,
        async stop(graceMs) {
          server.close();
          server.closeIdleConnections();
          const drained = await requests.drain(graceMs);
          server.closeAllConnections();
          return drained;
        },
      });
    });
  });
}
