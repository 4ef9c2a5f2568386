/**
 * The only place that touches sockets: accepts TCP connections, cuts the byte stream into PDU frames for the
 * connection logic, and writes framed PDUs back with backpressure (a sender awaits until the socket took its bytes).
 */
import type { Logger } from "../../log.ts";
import type { Connection, ConnectionIo } from "../connection.ts";
import { BHS_LENGTH, decodeFrame, DigestError, frameLength } from "../pdu/bhs.ts";

/** Frames written to the socket in one call at most (small PDUs are coalesced). */
const MAX_COALESCE = 256 * 1024;
const READ_CHUNK = 256 * 1024;

export interface TcpListener {
  address: string;
  close(): Promise<void>;
}

function formatAddr(a: Deno.NetAddr): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

function parseAddr(addr: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (!m) throw new TypeError(`Cannot listen: "${addr}" is not HOST:PORT`);
  return { hostname: m[1]!, port: Number(m[2]) };
}

/** Listen on `addr` ("HOST:PORT", port 0 = any) and run `accept` for each connection until closed/aborted. */
export function listenTcp(
  addr: string,
  accept: (io: ConnectionIo) => Connection,
  options: { logger: Logger; signal?: AbortSignal },
): TcpListener {
  const listener = Deno.listen({ ...parseAddr(addr), transport: "tcp" });
  const live = new Set<Promise<void>>();
  const sockets = new Set<Deno.TcpConn>();
  let closed = false;
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        sockets.add(conn);
        const p = serveConnection(conn, accept, options.logger).finally(() => {
          sockets.delete(conn);
          live.delete(p);
        });
        live.add(p);
      }
    } catch (err) {
      if (!closed) options.logger.error("iscsi: listener failed", { error: String(err) });
    }
  })();
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    listener.close();
    for (const s of sockets) {
      try {
        s.close();
      } catch { /* already closed */ }
    }
    await loop;
    await Promise.all([...live]);
  }
  options.signal?.addEventListener("abort", () => void close(), { once: true });
  return { address: formatAddr(listener.addr), close };
}

async function serveConnection(
  conn: Deno.TcpConn,
  accept: (io: ConnectionIo) => Connection,
  logger: Logger,
): Promise<void> {
  conn.setNoDelay(true);
  const writer = createWriter(conn);
  let closedSocket = false;
  const io: ConnectionIo = {
    write: (bytes) => writer.write(bytes),
    close() {
      if (closedSocket) return;
      closedSocket = true;
      void writer.flushed().finally(() => {
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    },
    localAddress: formatAddr(conn.localAddr),
    remoteAddress: formatAddr(conn.remoteAddr),
  };
  const connection = accept(io);
  const reader = createReader(conn);
  try {
    for (;;) {
      const head = await reader.peek(BHS_LENGTH);
      if (!head) break;
      const { digests, maxData } = connection.framing();
      let total: number;
      try {
        total = frameLength(head, digests, maxData);
      } catch (err) {
        const bhs = head.slice();
        await connection.rejectMalformed(bhs, (err as Error).message);
        // The announced segment is too large to accept; skip it to stay in sync.
        if (!(await reader.skip(frameLength(bhs, digests, 0xffffff)))) break;
        continue;
      }
      const bytes = await reader.take(total);
      if (!bytes) break;
      const header = bytes.subarray(0, BHS_LENGTH);
      try {
        await connection.receive(decodeFrame(bytes, digests, maxData));
      } catch (err) {
        if (err instanceof DigestError && err.segment === "data") await connection.rejectDigest(header);
        else if (err instanceof DigestError) break;
        else if (err instanceof SyntaxError || err instanceof RangeError) {
          await connection.rejectMalformed(header, err.message);
        } else throw err;
      }
    }
  } catch (err) {
    if (!closedSocket) logger.debug("iscsi: connection error", { error: String(err) });
  } finally {
    io.close();
    await connection.closed();
    writer.stop();
  }
}

function createReader(conn: Deno.TcpConn) {
  let buf = new Uint8Array(READ_CHUNK);
  let start = 0;
  let end = 0;
  async function fill(n: number): Promise<boolean> {
    while (end - start < n) {
      if (buf.length - start < n) {
        const bigger = new Uint8Array(Math.max(buf.length, n + READ_CHUNK));
        bigger.set(buf.subarray(start, end));
        end -= start;
        start = 0;
        buf = bigger;
      } else if (buf.length - end < READ_CHUNK / 4 && start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const got = await conn.read(buf.subarray(end));
      if (got === null) return false;
      end += got;
    }
    return true;
  }
  return {
    /** A view of the next `n` bytes without consuming them (valid until the next call). */
    async peek(n: number): Promise<Uint8Array | undefined> {
      if (!(await fill(n))) return undefined;
      return buf.subarray(start, start + n);
    },
    async take(n: number): Promise<Uint8Array | undefined> {
      if (!(await fill(n))) return undefined;
      const out = buf.slice(start, start + n);
      start += n;
      return out;
    },
    async skip(n: number): Promise<boolean> {
      while (n > 0) {
        const step = Math.min(n, READ_CHUNK);
        if (!(await fill(step))) return false;
        start += step;
        n -= step;
      }
      return true;
    },
  };
}

/** Serialized, coalescing socket writer: `write` resolves when the bytes were handed to the kernel. */
function createWriter(conn: Deno.TcpConn) {
  const queue: { bytes: Uint8Array; done: () => void; fail: (e: unknown) => void }[] = [];
  let running: Promise<void> | undefined;
  let broken: unknown;
  async function pump(): Promise<void> {
    while (queue.length > 0) {
      const batch = [queue.shift()!];
      let size = batch[0]!.bytes.length;
      while (queue.length > 0 && size + queue[0]!.bytes.length <= MAX_COALESCE) {
        size += queue[0]!.bytes.length;
        batch.push(queue.shift()!);
      }
      const out = batch.length === 1 ? batch[0]!.bytes : new Uint8Array(size);
      if (batch.length > 1) {
        let at = 0;
        for (const b of batch) {
          out.set(b.bytes, at);
          at += b.bytes.length;
        }
      }
      try {
        for (let off = 0; off < out.length;) off += await conn.write(out.subarray(off));
        for (const b of batch) b.done();
      } catch (err) {
        broken = err;
        for (const b of [...batch, ...queue.splice(0)]) b.fail(err);
      }
    }
    running = undefined;
  }
  return {
    write(bytes: Uint8Array): Promise<void> {
      if (broken) return Promise.reject(broken);
      const p = new Promise<void>((done, fail) => queue.push({ bytes, done, fail }));
      running ??= pump();
      return p;
    },
    flushed(): Promise<void> {
      return running ?? Promise.resolve();
    },
    stop(): void {
      broken ??= new Error("Cannot write: connection closed");
      for (const b of queue.splice(0)) b.fail(broken);
    },
  };
}
