/**
 * The login phase of one connection (RFC 7143 §6, §12): security negotiation (None or CHAP-MD5, optionally mutual)
 * then operational negotiation, as a pure `step(state, event) → {state, actions}` machine.
 */
import type { LoginRequestPdu } from "../pdu/initiator.ts";
import type { TargetConfig } from "../types.ts";
import { chapResponse, decodeChapBinary, encodeChapBinary, sameBytes } from "./chap.ts";
import { defaultParams, negotiate, type SessionParams } from "./negotiate.ts";

export const Stage = { Security: 0, Operational: 1, FullFeature: 3 } as const;

/** Login status class/detail pairs (RFC 7143 §11.13.5). */
export const LoginStatus = {
  InitiatorError: [2, 0x00],
  AuthFailure: [2, 0x01],
  NotFound: [2, 0x03],
  UnsupportedVersion: [2, 0x05],
  MissingParameter: [2, 0x07],
  SessionTypeNotSupported: [2, 0x09],
  InvalidDuringLogin: [2, 0x0b],
} as const;

export type LoginPhase =
  | "initial"
  | "security"
  | "chap-algorithm"
  | "chap-response"
  | "authenticated"
  | "operational"
  | "complete"
  | "failed";

export interface LoginState {
  phase: LoginPhase;
  sessionType: "Discovery" | "Normal";
  initiatorName: string;
  targetName: string;
  target: TargetConfig | undefined;
  params: SessionParams;
  chap: { id: number; challenge: Uint8Array } | undefined;
  /** Partial key text from requests with the C bit. */
  pending: Uint8Array;
}

export interface LoginEvent {
  req: LoginRequestPdu;
  /** Decoded keys of the (reassembled) request; undefined while C-bit continuation collects text. */
  keys: [string, string][] | undefined;
  /** Looked up by the caller for the TargetName key of the first request. */
  target: TargetConfig | undefined;
  /** Fresh random bytes for a CHAP challenge: byte 0 is the identifier, the rest the challenge. */
  random: Uint8Array;
}

export type LoginAction =
  | {
    type: "respond";
    transit: boolean;
    csg: number;
    nsg: number;
    keys: [string, string][];
  }
  | { type: "fail"; statusClass: number; statusDetail: number; reason: string }
  /** Login finished: the caller creates or reinstates the session, then sends the final response. */
  | { type: "complete"; keys: [string, string][]; csg: number };

export interface LoginStep {
  state: LoginState;
  actions: LoginAction[];
}

export function initialLoginState(targetMaxRecv: number): LoginState {
  return {
    phase: "initial",
    sessionType: "Normal",
    initiatorName: "",
    targetName: "",
    target: undefined,
    params: defaultParams(targetMaxRecv),
    chap: undefined,
    pending: new Uint8Array(0),
  };
}

const SECURITY_KEYS = /^(AuthMethod|CHAP_[AICNR])$/;

function failed(state: LoginState, status: readonly [number, number], reason: string): LoginStep {
  return {
    state: { ...state, phase: "failed" },
    actions: [{ type: "fail", statusClass: status[0], statusDetail: status[1], reason }],
  };
}

function get(keys: [string, string][], name: string): string | undefined {
  return keys.find(([k]) => k === name)?.[1];
}

export function step(state: LoginState, event: LoginEvent): LoginStep {
  const { req } = event;
  if (state.phase === "complete" || state.phase === "failed") {
    return failed(state, LoginStatus.InvalidDuringLogin, "login already finished");
  }
  if (req.versionMin > 0) return failed(state, LoginStatus.UnsupportedVersion, "only iSCSI version 0 is supported");
  if (event.keys === undefined) {
    return {
      state,
      actions: [{ type: "respond", transit: false, csg: req.csg, nsg: req.csg, keys: [] }],
    };
  }
  let s = state;
  const keys = event.keys;
  const answers: [string, string][] = [];
  if (s.phase === "initial") {
    const initiatorName = get(keys, "InitiatorName");
    if (!initiatorName) return failed(s, LoginStatus.MissingParameter, "InitiatorName missing");
    const type = get(keys, "SessionType") ?? "Normal";
    if (type !== "Normal" && type !== "Discovery") {
      return failed(s, LoginStatus.SessionTypeNotSupported, `SessionType "${type}"`);
    }
    const targetName = get(keys, "TargetName") ?? "";
    if (type === "Normal") {
      if (!targetName) return failed(s, LoginStatus.MissingParameter, "TargetName missing");
      if (!event.target) return failed(s, LoginStatus.NotFound, `target "${targetName}" not found`);
      answers.push(["TargetPortalGroupTag", "1"]);
      if (event.target.alias) answers.push(["TargetAlias", event.target.alias]);
    }
    s = {
      ...s,
      phase: "security",
      initiatorName,
      targetName,
      sessionType: type,
      target: type === "Normal" ? event.target : undefined,
    };
  }
  const chapConfig = s.target?.chap;
  if (req.csg === Stage.Security) {
    const sec = security(s, keys, event.random);
    if ("fail" in sec) return failed(s, LoginStatus.AuthFailure, sec.fail);
    s = sec.state;
    answers.push(...sec.answers);
  } else if (chapConfig && s.phase !== "authenticated" && s.phase !== "operational") {
    return failed(s, LoginStatus.AuthFailure, "CHAP is required");
  } else {
    s = { ...s, phase: "operational" };
  }
  const operational = keys.filter(([k]) => !SECURITY_KEYS.test(k));
  const result = negotiate(operational, s.params);
  if (result.error) return failed(s, LoginStatus.InitiatorError, result.error);
  s = { ...s, params: result.params };
  answers.push(...result.answers);
  if (req.csg === Stage.Operational && !answers.some(([k]) => k === "MaxRecvDataSegmentLength")) {
    answers.push(["MaxRecvDataSegmentLength", String(s.params.targetMaxRecvDataSegmentLength)]);
  }
  const mayTransit = req.transit && (req.csg === Stage.Operational || s.phase === "authenticated");
  if (mayTransit && req.nsg === Stage.FullFeature) {
    return { state: { ...s, phase: "complete" }, actions: [{ type: "complete", keys: answers, csg: req.csg }] };
  }
  return {
    state: mayTransit ? { ...s, phase: "operational" } : s,
    actions: [{ type: "respond", transit: mayTransit, csg: req.csg, nsg: req.nsg, keys: answers }],
  };
}

type SecurityResult = { state: LoginState; answers: [string, string][] } | { fail: string };

function security(s: LoginState, keys: [string, string][], random: Uint8Array): SecurityResult {
  const chap = s.target?.chap;
  const answers: [string, string][] = [];
  switch (s.phase) {
    case "security": {
      const offered = get(keys, "AuthMethod")?.split(",") ?? [];
      if (chap) {
        if (!offered.includes("CHAP")) return { fail: "target requires CHAP" };
        return { state: { ...s, phase: "chap-algorithm" }, answers: [["AuthMethod", "CHAP"]] };
      }
      if (offered.length > 0 && !offered.includes("None")) return { fail: "no common AuthMethod" };
      if (offered.length > 0) answers.push(["AuthMethod", "None"]);
      return { state: { ...s, phase: "authenticated" }, answers };
    }
    case "chap-algorithm": {
      const algorithms = get(keys, "CHAP_A")?.split(",") ?? [];
      if (!algorithms.includes("5")) return { fail: "CHAP_A must offer 5 (MD5)" };
      const id = random[0]!;
      const challenge = random.slice(1);
      answers.push(["CHAP_A", "5"], ["CHAP_I", String(id)], ["CHAP_C", encodeChapBinary(challenge)]);
      return { state: { ...s, phase: "chap-response", chap: { id, challenge } }, answers };
    }
    case "chap-response":
      return chapVerify(s, keys);
    case "authenticated":
    case "operational":
      return { state: s, answers };
    default:
      return { fail: `unexpected security request in phase ${s.phase}` };
  }
}

function chapVerify(s: LoginState, keys: [string, string][]): SecurityResult {
  const chap = s.target!.chap!;
  const name = get(keys, "CHAP_N");
  const response = get(keys, "CHAP_R");
  if (name === undefined || response === undefined || !s.chap) return { fail: "CHAP_N/CHAP_R missing" };
  let got: Uint8Array;
  try {
    got = decodeChapBinary(response);
  } catch {
    return { fail: "CHAP_R is not a binary value" };
  }
  const expected = chapResponse(s.chap.id, chap.secret, s.chap.challenge);
  if (name !== chap.user || !sameBytes(got, expected)) return { fail: "CHAP response does not match" };
  const answers: [string, string][] = [];
  const mutualId = get(keys, "CHAP_I");
  const mutualChallenge = get(keys, "CHAP_C");
  if (mutualId !== undefined || mutualChallenge !== undefined) {
    if (!chap.mutualUser || chap.mutualSecret === undefined) return { fail: "mutual CHAP is not configured" };
    const id = Number(mutualId);
    if (!Number.isInteger(id) || id < 0 || id > 255 || mutualChallenge === undefined) {
      return { fail: "invalid mutual CHAP_I/CHAP_C" };
    }
    let c: Uint8Array;
    try {
      c = decodeChapBinary(mutualChallenge);
    } catch {
      return { fail: "CHAP_C is not a binary value" };
    }
    if (sameBytes(c, s.chap.challenge)) return { fail: "initiator reflected the target's challenge" };
    answers.push(["CHAP_N", chap.mutualUser], ["CHAP_R", encodeChapBinary(chapResponse(id, chap.mutualSecret, c))]);
  }
  return { state: { ...s, phase: "authenticated", chap: undefined }, answers };
}
