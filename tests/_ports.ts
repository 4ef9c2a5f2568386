/** A TCP port on 127.0.0.1 that was free a moment ago, for servers that must be told their port before they start. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
