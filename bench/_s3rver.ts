/**
 * Runs s3rver (the anchor of the gateway benchmark) in its own process and prints `{"port": N}` once listening.
 * Usage: deno run -A bench/_s3rver.ts <directory>
 *
 * @module
 */
import S3rver from "s3rver";

const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory: Deno.args[0]!,
  configureBuckets: [{ name: "bench", configs: [] }],
});
const info = await server.run();
console.log(JSON.stringify({ port: info.port }));
