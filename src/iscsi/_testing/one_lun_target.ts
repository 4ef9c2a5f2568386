/**
 * A target with one 1 MiB LUN in memory, on a free loopback port, and a login to it, for protocol tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createMemoryBlockDevice } from "../../blockdev/block_device.ts";
import { fakeClock } from "../../clock.ts";
import { silentLogger } from "../../log.ts";
import { createIscsiTarget } from "../mod.ts";
import { bhs, encodeTextKeys, keys, RawInitiator } from "./raw_initiator.ts";

export const IQN = "iqn.2026-01.test:conn";

export async function withTarget(
  fn: (address: string, target: ReturnType<typeof createIscsiTarget>) => Promise<void>,
  loginTimeoutMs = 5_000,
) {
  const device = createMemoryBlockDevice({ id: "c0ffee00-0000-4000-8000-000000000001", sizeBytes: 1024 * 1024 });
  const target = createIscsiTarget({
    logger: silentLogger(),
    clock: fakeClock(),
    resolveTarget: (iqn) => (iqn === IQN ? { luns: new Map([[0, device]]) } : undefined),
    listTargets: () => [IQN],
    nopIntervalMs: 0,
    loginTimeoutMs,
  });
  const { address } = await target.serve("127.0.0.1:0");
  try {
    await fn(address, target);
  } finally {
    await target.close();
  }
}

export async function login(
  address: string,
  options: { discovery?: boolean; extra?: [string, string][]; isid?: number } = {},
): Promise<{ ini: RawInitiator; keys: Map<string, string>; statSN: number; maxCmdSN: number }> {
  const ini = await RawInitiator.connect(address);
  const pairs: [string, string][] = [["InitiatorName", "iqn.2026-01.test:initiator"]];
  if (options.discovery) pairs.push(["SessionType", "Discovery"]);
  else pairs.push(["TargetName", IQN]);
  pairs.push(...(options.extra ?? []));
  const req = bhs(0x43, 0x80 | (1 << 2) | 3, { 16: ini.itt++, 24: ini.cmdSN, 28: 0 });
  req[8] = 0x80;
  req[13] = options.isid ?? 1;
  await ini.send(req, encodeTextKeys(pairs));
  const resp = await ini.read();
  assert.ok(resp);
  assert.equal(resp.opcode, 0x23);
  assert.equal(resp.bhs[36], 0, `login status ${resp.bhs[36]}/${resp.bhs[37]}`);
  assert.equal(resp.bhs[1]! & 0x83, 0x83); // T, NSG = full feature
  return { ini, keys: keys(resp.data), statSN: resp.u32(24), maxCmdSN: resp.u32(32) };
}
