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

/** What a draining server answers a new request: 503, with when to try again. */
export const SHUTTING_DOWN = {
  status: 503,
  headers: { connection: "close", "retry-after": "5" },
  body: "Shutting down\n",
} as const;

/**
 * The requests a server is running, for a graceful stop: `start` a request (false once draining: answer
 * `SHUTTING_DOWN`), `finish` it; `drain` refuses new ones and waits up to `graceMs` for the running ones (true when
 * they all finished; a warning names the server when they did not).
 */
export function requestTracker(name: string, logger: Logger) {
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  return {
    start(): boolean {
      if (draining) return false;
      inFlight++;
      return true;
    },
    finish(): void {
      if (--inFlight === 0) onIdle?.();
    },
    async drain(graceMs: number): Promise<boolean> {
      draining = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), graceMs));
      const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => onIdle = resolve);
      const drained = await Promise.race([idle.then(() => true as const), timeout]);
      clearTimeout(timer);
      if (!drained) logger.warn(`${name}: in-flight requests still running after ${graceMs} ms, stopping anyway`);
      return drained;
    },
  };
}

export function serveHttp(
  name: string,
  address: ListenAddress,
  handler: Handler,
  logger: Logger,
  options: {
    tls?: { cert: string; key: string };
    /** The answer to a request that arrives while the server is stopping (default: `SHUTTING_DOWN`). */
    whileStopping?: Handler;
  } = {},
): RunningHttpServer {
  // Deno's own shutdown cuts request bodies that are still arriving, so requests are drained here first:
  // new ones get 503, running handlers (which consume their bodies) finish, then the server shuts down.
  const requests = requestTracker(name, logger);
  const tracked: Handler = async (req, info) => {
    if (!requests.start()) {
      return options.whileStopping?.(req, info) ?? new Response(SHUTTING_DOWN.body, SHUTTING_DOWN);
    }
    try {
      const response = await handler(req, info);
      // A large download's chunks leave V8's accounting once sent. The length is asked first: reading `body` turns a
      // byte body into a stream, off Deno's fast path.
      if (Number(response.headers.get("content-length")) < HAND_OFF_BYTES || response.body === null) return response;
      const { status, statusText, headers } = response;
      return new Response(handOff(response.body), { status, statusText, headers });
    } finally {
      requests.finish();
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
      const drained = await requests.drain(graceMs);
      if (drained) await server.shutdown();
      return drained;
    },
  };
}
