/**
 * `deno task bench plugin [--server gateway|rgw|s3rver] [--size-mib N] [--runs N] [--download-workers N]`: the
 * S3 Plugin's Perl client against `/usr/bin/aws s3 cp` on the same server in the same run (bench/plugin.pl).
 * Defaults: 2048 MiB and 3 runs, or `BENCH_PLUGIN_SIZE_MIB` and `BENCH_PLUGIN_RUNS` from the environment.
 *
 * @module
 */
const script = new URL("./plugin.pl", import.meta.url).pathname;
const child = new Deno.Command("perl", {
  args: [script, ...Deno.args],
  env: { DENO_BIN: Deno.execPath() },
}).spawn();
Deno.exit((await child.status).code);
