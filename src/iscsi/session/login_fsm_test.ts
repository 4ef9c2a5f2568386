import assert from "node:assert/strict";
import { createMemoryBlockDevice } from "../../blockdev/block_device.ts";
import type { LoginRequestPdu } from "../pdu/initiator.ts";
import type { TargetConfig } from "../types.ts";
import { chapResponse, decodeChapBinary, encodeChapBinary } from "./chap.ts";
import { initialLoginState, type LoginAction, type LoginState, step } from "./login_fsm.ts";

const IQN = "iqn.2026-01.test:t";
const open: TargetConfig = { luns: new Map([[0, createMemoryBlockDevice({ id: "x", sizeBytes: 4096 })]]) };
const chap: TargetConfig = {
  ...open,
  chap: { user: "u", secret: "s3cret-s3cret", mutualUser: "t", mutualSecret: "m-secret-123" },
};
const RANDOM = Uint8Array.from({ length: 17 }, (_, i) => i + 1);

function req(csg: number, nsg: number, transit: boolean): LoginRequestPdu {
  return {
    kind: "login",
    transit,
    cont: false,
    csg,
    nsg,
    versionMax: 0,
    versionMin: 0,
    isid: new Uint8Array(6),
    tsih: 0,
    itt: 1,
    cid: 0,
    cmdSN: 1,
    expStatSN: 0,
    data: new Uint8Array(0),
  };
}

function run(
  state: LoginState,
  r: LoginRequestPdu,
  keys: [string, string][],
  target: TargetConfig | undefined,
): { state: LoginState; action: LoginAction } {
  const out = step(state, { req: r, keys, target, random: RANDOM });
  assert.equal(out.actions.length, 1);
  return { state: out.state, action: out.actions[0]! };
}

const first: [string, string][] = [["InitiatorName", "iqn.i"], ["TargetName", IQN], ["SessionType", "Normal"]];

Deno.test("login: transition table for AuthMethod=None and CHAP", async (t) => {
  const cases: {
    name: string;
    target: TargetConfig | undefined;
    keys: [string, string][];
    r: LoginRequestPdu;
    expect: string;
    phase: string;
  }[] = [
    {
      name: "None, straight to full feature",
      target: open,
      keys: [...first, ["AuthMethod", "None"]],
      r: req(0, 3, true),
      expect: "complete",
      phase: "complete",
    },
    {
      name: "None, to operational",
      target: open,
      keys: [...first, ["AuthMethod", "CHAP,None"]],
      r: req(0, 1, true),
      expect: "respond",
      phase: "operational",
    },
    {
      name: "operational stage first",
      target: open,
      keys: first,
      r: req(1, 3, true),
      expect: "complete",
      phase: "complete",
    },
    {
      name: "unknown target",
      target: undefined,
      keys: [...first, ["AuthMethod", "None"]],
      r: req(0, 1, true),
      expect: "fail:2/3",
      phase: "failed",
    },
    {
      name: "missing InitiatorName",
      target: open,
      keys: [["TargetName", IQN]],
      r: req(0, 1, true),
      expect: "fail:2/7",
      phase: "failed",
    },
    {
      name: "CHAP required, None offered",
      target: chap,
      keys: [...first, ["AuthMethod", "None"]],
      r: req(0, 1, true),
      expect: "fail:2/1",
      phase: "failed",
    },
    {
      name: "CHAP required, skipping security",
      target: chap,
      keys: first,
      r: req(1, 3, true),
      expect: "fail:2/1",
      phase: "failed",
    },
    {
      name: "CHAP chosen, no transit yet",
      target: chap,
      keys: [...first, ["AuthMethod", "CHAP,None"]],
      r: req(0, 1, true),
      expect: "respond",
      phase: "chap-algorithm",
    },
    {
      name: "bad SessionType",
      target: open,
      keys: [["InitiatorName", "i"], ["SessionType", "Weird"]],
      r: req(0, 1, true),
      expect: "fail:2/9",
      phase: "failed",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { state, action } = run(initialLoginState(65536), c.r, c.keys, c.target);
      const got = action.type === "fail" ? `fail:${action.statusClass}/${action.statusDetail}` : action.type;
      assert.equal(got, c.expect);
      assert.equal(state.phase, c.phase);
      if (action.type === "respond") assert.equal(action.transit, c.phase === "operational");
    });
  }
});

function chapLogin(secret: string, mutual?: { id: number; challenge: Uint8Array }) {
  let s = run(initialLoginState(65536), req(0, 1, true), [...first, ["AuthMethod", "CHAP"]], chap).state;
  const a = run(s, req(0, 1, false), [["CHAP_A", "7,5"]], chap);
  s = a.state;
  assert.equal(a.action.type, "respond");
  const keys = a.action.type === "respond" ? new Map(a.action.keys) : new Map();
  assert.equal(keys.get("CHAP_A"), "5");
  const id = Number(keys.get("CHAP_I"));
  const challenge = decodeChapBinary(keys.get("CHAP_C")!);
  const answer: [string, string][] = [["CHAP_N", "u"], [
    "CHAP_R",
    encodeChapBinary(chapResponse(id, secret, challenge)),
  ]];
  if (mutual) answer.push(["CHAP_I", String(mutual.id)], ["CHAP_C", encodeChapBinary(mutual.challenge)]);
  return run(s, req(0, 1, true), answer, chap);
}

Deno.test("login: CHAP with the right secret authenticates and may transit", () => {
  const { state, action } = chapLogin("s3cret-s3cret");
  assert.equal(state.phase, "operational");
  assert.equal(action.type, "respond");
  if (action.type === "respond") assert.equal(action.transit, true);
});

Deno.test("login: CHAP with a wrong secret fails with authentication failure", () => {
  const { state, action } = chapLogin("wrong");
  assert.equal(state.phase, "failed");
  assert.deepEqual(action.type === "fail" && [action.statusClass, action.statusDetail], [2, 1]);
});

Deno.test("login: mutual CHAP answers the initiator's challenge with the target secret", () => {
  const challenge = Uint8Array.from({ length: 16 }, (_, i) => 200 - i);
  const { action } = chapLogin("s3cret-s3cret", { id: 42, challenge });
  assert.equal(action.type, "respond");
  const keys = action.type === "respond" ? new Map(action.keys) : new Map();
  assert.equal(keys.get("CHAP_N"), "t");
  assert.deepEqual(decodeChapBinary(keys.get("CHAP_R")!), chapResponse(42, "m-secret-123", challenge));
});

Deno.test("login: a reflected CHAP challenge is refused", () => {
  const { action } = chapLogin("s3cret-s3cret", { id: 1, challenge: RANDOM.slice(1) });
  assert.equal(action.type, "fail");
});

Deno.test("login: version above 0 is unsupported", () => {
  const r = { ...req(0, 1, true), versionMin: 1 };
  const { action } = run(initialLoginState(65536), r, first, open);
  assert.deepEqual(action.type === "fail" && [action.statusClass, action.statusDetail], [2, 5]);
});

Deno.test("chapResponse() matches the RFC 1994 construction MD5(id || secret || challenge)", () => {
  // Known answer from coreutils: printf '\x01secret\x00\x01\x02' | md5sum
  assert.equal(
    encodeChapBinary(chapResponse(1, "secret", Uint8Array.of(0, 1, 2))),
    "0xc4081e0c9f89346155ddb08f0bf91611",
  );
  assert.throws(() => decodeChapBinary("zz"), SyntaxError);
  assert.deepEqual(decodeChapBinary("0bAAEC"), Uint8Array.of(0, 1, 2));
});
