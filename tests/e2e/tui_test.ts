import assert from "node:assert/strict";
import { run, withAppliance } from "./_appliance.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

Deno.test("the TUI runs in a real terminal (tmux) against a served appliance: health, buckets, quit", async () => {
  await withAppliance(async (app) => {
    const socket = `s3plugin-tui-${crypto.randomUUID().slice(0, 8)}`;
    const tmux = (...args: string[]) => run("/usr/bin/tmux", ["-L", socket, ...args], { allowFailure: true });
    const screen = async () => (await tmux("capture-pane", "-p", "-t", "tui")).stdout;
    async function until(pattern: RegExp): Promise<string> {
      for (let i = 0; i < 300; i++) {
        const s = await screen();
        if (pattern.test(s)) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`Terminal never showed ${pattern}:\n${await screen()}`);
    }
    const command = `${Deno.execPath()} run -A ${MAIN} tui --data-dir ${app.dataDir}`;
    const started = await tmux("new-session", "-d", "-s", "tui", "-x", "120", "-y", "30", command);
    assert.equal(started.code, 0, started.stderr);
    try {
      await until(/Status: ok/);
      await tmux("send-keys", "-t", "tui", "2");
      await until(new RegExp(`${app.creds.bucket}\\s+local\\s+\\(default\\)`));
      await tmux("send-keys", "-t", "tui", "q");
      for (let i = 0; i < 100; i++) {
        if ((await tmux("has-session", "-t", "tui")).code !== 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.notEqual((await tmux("has-session", "-t", "tui")).code, 0, "q quits the TUI");
    } finally {
      await tmux("kill-server");
    }
  });
});
