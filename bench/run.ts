/**
 * `deno task bench <name> [args…]` runs `bench/<name>.ts`; without a name it lists the benchmarks.
 *
 * @module
 */
const [name, ...rest] = Deno.args;
const dir = new URL(".", import.meta.url).pathname;
const available = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".ts") && n !== "run.ts" && !n.startsWith("_"))
  .map((n) => n.slice(0, -3))
  .sort();
if (!name || !available.includes(name)) {
  console.error(`Usage: deno task bench <name>\nAvailable: ${available.join(", ") || "(none)"}`);
  Deno.exit(name ? 2 : 0);
}
const child = new Deno.Command(Deno.execPath(), { args: ["run", "-A", `${dir}${name}.ts`, ...rest] }).spawn();
Deno.exit((await child.status).code);
