/**
 * `Deno.serve` with the appliance's conventions: clear bind errors, the bound address reported back (port 0
 * picks a free port), and a bounded graceful stop that drains in-flight requests.
 *
 * @module
 */
import { formatListenAddress, type ListenAddress } from "./config.ts";
import { AppError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { handOff } from "./http_handoff.ts";

/** Bodies of at least this many bytes are passed through `handOff`. */
const HAND_OFF_BYTES = 1024 * 1024;

/**
 * The error a response body stream fails with when its handler has already reported the failure: the server cuts the
 * connection (the client sees a short body) without logging it again.
 */
export class ReportedBodyFailure extends Error {
  override readonly name = "ReportedBodyFailure";
}

export type Handler = (req: Request, info: { remoteAddr: Deno.NetAddr }) => Response | Promise<Response>;

export interface RunningHttpServer {
  /** The bound address (the real port when 0 was asked for). */
  address: ListenAddress;
  /** Stops accepting, waits up to `graceMs` for in-flight requests; true when they all finished. */
  stop(graceMs: number): Promise<boolean>;
}

export function serveHttp(
  name: string,
  address: ListenAddress,
  handler: Handler,
  logger: Logger,
  options: { tls?: { cert: string; key: string } } = {},
): RunningHttpServer {
  // Deno's own shutdown cuts request bodies that are still arriving, so requests are drained here first:
  // new ones get 503, running handlers (which consume their bodies) finish, then the server shuts down.
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  const tracked: Handler = async (req, info) => {
    if (draining) {
      return new Response("Shutting down\n", { status: 503, headers: { connection: "close", "retry-after": "5" } });
    }
    inFlight++;
    try {
      const response = await handler(req, info);
      // A large download's chunks leave V8's accounting once sent. The length is asked first: reading `body` turns a
      // byte body into a stream, off Deno's fast path.
      if (Number(response.headers.get("content-length")) < HAND_OFF_BYTES || response.body === null) return response;
      const { status, statusText, headers } = response;
      return new Response(handOff(response.body), { status, statusText, headers });
    } finally {
      if (--inFlight === 0) onIdle?.();
    }
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: address.hostname,
      port: address.port,
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
      onListen: () => {},
      onError: (err) => {
        if (!(err instanceof ReportedBodyFailure)) {
          logger.error(`${name}: unhandled request error`, { error: String(err) });
        }
        return new Response("Internal error", { status: 500 });
      },
    }, tracked);
  } catch (err) {
    const reason = err instanceof Deno.errors.AddrInUse ? "address in use" : (err as Error).message;
    throw new AppError("Unavailable", `Cannot listen on ${formatListenAddress(address)} for ${name}: ${reason}`, {
      cause: err,
    });
  }
  const bound = { hostname: server.addr.hostname, port: server.addr.port };
  logger.info(`${name} listening`, { address: formatListenAddress(bound), tls: options.tls !== undefined });
  return {
    address: bound,
    async stop(graceMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      draining = true;
      const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => onIdle = resolve);
      const drained = await Promise.race([idle.then(() => server.shutdown()).then(() => true as const), timeout]);
      clearTimeout(timer);
      if (!drained) logger.warn(`${name}: in-flight requests still running after ${graceMs} ms, stopping anyway`);
      return drained;
    },
  };
}
