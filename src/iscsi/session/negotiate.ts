/**
 * Operational text-key negotiation (RFC 7143 §13): the target's answer to each offered key and the resulting
 * session parameters. Pure.
 */

export interface SessionParams {
  headerDigest: boolean;
  dataDigest: boolean;
  /** What the initiator can receive: the target's Data-In/Text/etc. PDUs must not carry more. */
  initiatorMaxRecvDataSegmentLength: number;
  /** What the target declared it can receive. */
  targetMaxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  errorRecoveryLevel: number;
  maxConnections: number;
}

/** RFC 7143 defaults, with the target's own receive limit. */
export function defaultParams(targetMaxRecv: number): SessionParams {
  return {
    headerDigest: false,
    dataDigest: false,
    initiatorMaxRecvDataSegmentLength: 8192,
    targetMaxRecvDataSegmentLength: targetMaxRecv,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    initialR2T: true,
    immediateData: true,
    maxOutstandingR2T: 1,
    dataPDUInOrder: true,
    dataSequenceInOrder: true,
    defaultTime2Wait: 2,
    defaultTime2Retain: 20,
    errorRecoveryLevel: 0,
    maxConnections: 1,
  };
}

/** What this target accepts at most. */
export const TARGET_LIMITS = {
  maxBurstLength: 16 * 1024 * 1024,
  firstBurstLength: 16 * 1024 * 1024,
  maxOutstandingR2T: 16,
  maxRecvDataSegmentLength: 262144,
} as const;

/** Keys that only declare something and need no answer from the target. */
const DECLARATIVE = new Set(["InitiatorName", "InitiatorAlias", "TargetName", "SessionType", "TargetAlias"]);

export interface NegotiationResult {
  params: SessionParams;
  answers: [string, string][];
  /** Set when an offer was invalid enough to fail the login (RFC 7143 §6.2: "Reject" or an out-of-range value). */
  error?: string;
}

function parseNumber(value: string, min: number, max: number): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

function parseBool(value: string): boolean | undefined {
  return value === "Yes" ? true : value === "No" ? false : undefined;
}

function pickDigest(value: string): string | undefined {
  return value.split(",").find((v) => v === "None" || v === "CRC32C");
}

/** Answer the operational keys in `offers`. Security keys (AuthMethod, CHAP_*) must be removed by the caller. */
export function negotiate(offers: [string, string][], params: SessionParams): NegotiationResult {
  const p = { ...params };
  const answers: [string, string][] = [];
  const fail = (msg: string): NegotiationResult => ({ params, answers, error: msg });
  for (const [key, value] of offers) {
    switch (key) {
      case "HeaderDigest":
      case "DataDigest": {
        const choice = pickDigest(value);
        if (!choice) return fail(`no acceptable ${key} in "${value}"`);
        if (key === "HeaderDigest") p.headerDigest = choice === "CRC32C";
        else p.dataDigest = choice === "CRC32C";
        answers.push([key, choice]);
        break;
      }
      case "MaxRecvDataSegmentLength": {
        const n = parseNumber(value, 512, 16777215);
        if (n === undefined) return fail(`invalid MaxRecvDataSegmentLength "${value}"`);
        p.initiatorMaxRecvDataSegmentLength = n;
        answers.push([key, String(p.targetMaxRecvDataSegmentLength)]);
        break;
      }
      case "MaxBurstLength":
      case "FirstBurstLength": {
        const n = parseNumber(value, 512, 16777215);
        if (n === undefined) return fail(`invalid ${key} "${value}"`);
        const v = Math.min(n, key === "MaxBurstLength" ? TARGET_LIMITS.maxBurstLength : TARGET_LIMITS.firstBurstLength);
        if (key === "MaxBurstLength") p.maxBurstLength = v;
        else p.firstBurstLength = v;
        answers.push([key, String(v)]);
        break;
      }
      case "MaxOutstandingR2T": {
        const n = parseNumber(value, 1, 65535);
        if (n === undefined) return fail(`invalid MaxOutstandingR2T "${value}"`);
        p.maxOutstandingR2T = Math.min(n, TARGET_LIMITS.maxOutstandingR2T);
        answers.push([key, String(p.maxOutstandingR2T)]);
        break;
      }
      case "InitialR2T":
      case "ImmediateData":
      case "DataPDUInOrder":
      case "DataSequenceInOrder": {
        const b = parseBool(value);
        if (b === undefined) return fail(`invalid ${key} "${value}"`);
        // InitialR2T is an OR (we accept either); ImmediateData an AND (we support it); the in-order keys are ORs
        // whose result we answer Yes because data is processed in order.
        const result = key === "DataPDUInOrder" || key === "DataSequenceInOrder" ? true : b;
        if (key === "InitialR2T") p.initialR2T = result;
        else if (key === "ImmediateData") p.immediateData = result;
        else if (key === "DataPDUInOrder") p.dataPDUInOrder = result;
        else p.dataSequenceInOrder = result;
        answers.push([key, result ? "Yes" : "No"]);
        break;
      }
      case "DefaultTime2Wait":
      case "DefaultTime2Retain": {
        const n = parseNumber(value, 0, 3600);
        if (n === undefined) return fail(`invalid ${key} "${value}"`);
        // Time2Wait is a max function, Time2Retain a min; with ERL 0 we retain nothing, so answer 0.
        const v = key === "DefaultTime2Wait" ? Math.max(n, 2) : 0;
        if (key === "DefaultTime2Wait") p.defaultTime2Wait = v;
        else p.defaultTime2Retain = v;
        answers.push([key, String(v)]);
        break;
      }
      case "ErrorRecoveryLevel":
      case "MaxConnections": {
        const n = parseNumber(value, key === "MaxConnections" ? 1 : 0, 65535);
        if (n === undefined) return fail(`invalid ${key} "${value}"`);
        const v = key === "MaxConnections" ? 1 : 0;
        if (key === "MaxConnections") p.maxConnections = v;
        else p.errorRecoveryLevel = v;
        answers.push([key, String(v)]);
        break;
      }
      case "IFMarker":
      case "OFMarker":
      case "RDMAExtensions":
        answers.push([key, "No"]);
        break;
      case "IFMarkInt":
      case "OFMarkInt":
        answers.push([key, "Irrelevant"]);
        break;
      case "TaskReporting":
        answers.push([key, "RFC3720"]);
        break;
      default:
        if (!DECLARATIVE.has(key)) answers.push([key, "NotUnderstood"]);
    }
  }
  return { params: p, answers };
}
