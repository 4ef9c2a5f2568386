/**
 * `s3plugin tui`: the terminal UI of a running appliance (console or SSH), a client of `/api/v1` only.
 *
 * @module
 */
import { render } from "ink";
import { type ApiTarget, createApiClient } from "../src/api/client.ts";
import { App } from "./App.tsx";

export async function runCli(_args: string[], api: ApiTarget): Promise<number> {
  const instance = render(<App client={createApiClient(api)} title={api.url} />);
  await instance.waitUntilExit();
  return 0;
}
