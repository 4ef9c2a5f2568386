/**
 * A TCP relay on 127.0.0.1 to a target, which a test can cut (the port refuses connections and open ones are
 * closed, as when a server or its network goes away) and restore on the same port.
 *
 * @module
 */

export interface TcpRelay {
  /** `127.0.0.1:PORT`, the same while the relay is cut and after it is restored. */
  address: string;
  cut(): void;
  restore(): void;
  close(): void;
}

export function startTcpRelay(target: { hostname: string; port: number }): TcpRelay {
  const open = new Set<Deno.Conn>();
  let listener: Deno.Listener | undefined;
  let port = 0;
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  const relay = async (client: Deno.Conn) => {
    open.add(client);
    const server = await Deno.connect(target).catch(() => undefined);
    if (!server) return close(client);
    open.add(server);
    const done = () => {
      close(client);
      close(server);
    };
    client.readable.pipeTo(server.writable).catch(() => {}).finally(done);
    server.readable.pipeTo(client.writable).catch(() => {}).finally(done);
  };
  const listen = () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    listener = l;
    port = (l.addr as Deno.NetAddr).port;
    (async () => {
      try {
        for await (const conn of l) relay(conn);
      } catch { /* closed by cut() */ }
    })();
  };
  listen();
  const cut = () => {
    listener?.close();
    listener = undefined;
    for (const conn of [...open]) close(conn);
  };
  return { address: `127.0.0.1:${port}`, cut, restore: listen, close: cut };
}
