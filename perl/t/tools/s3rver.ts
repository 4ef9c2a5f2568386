/**
 * Starts s3rver (a third-party S3 server) for the Perl plugin tests on 127.0.0.1, port 0.
 *
 * Usage: deno run -A perl/t/tools/s3rver.ts <data-dir> [--bucket=NAME...] <port-file>
 * Writes the chosen port to <port-file> once listening; stops on SIGTERM/SIGINT.
 *
 * @module
 */
import S3rver from "s3rver";

const dir = Deno.args[0];
const portFile = Deno.args.length > 1 ? Deno.args[Deno.args.length - 1] : undefined;
const buckets = Deno.args.slice(1, -1).filter((a) => a.startsWith("--bucket=")).map((a) => a.slice(9));
if (!dir || !portFile) {
  console.error("usage: s3rver.ts <data-dir> [--bucket=NAME...] <port-file>");
  Deno.exit(2);
}
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
const addr = await server.run();
await Deno.writeTextFile(`${portFile}.tmp`, String(addr.port));
await Deno.rename(`${portFile}.tmp`, portFile);
const stop = async () => {
  await server.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
