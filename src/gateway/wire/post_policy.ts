/**
 * The policy of a browser-based upload (S3 POST Object): a base64 JSON document, signed by the form's signature,
 * with an expiration and the conditions the form must meet. As in S3, every condition must hold and every form field
 * must be named by a condition (other than the signature, the policy itself, the file and `x-ignore-*` fields), so
 * a page cannot add fields its policy's author did not foresee.
 *
 * @module
 */
import { S3Error } from "../s3_errors.ts";

type Condition =
  | { kind: "eq" | "starts-with"; field: string; value: string }
  | { kind: "content-length-range"; min: number; max: number };

export interface PostPolicy {
  expiration: Date;
  conditions: Condition[];
}

/** Fields no condition needs to name. */
const UNNAMED = new Set(["x-amz-signature", "policy", "file"]);

function invalid(why: string): S3Error {
  return new S3Error("InvalidPolicyDocument", `Invalid Policy: ${why}`);
}

function denied(why: string): S3Error {
  return new S3Error("AccessDenied", `Invalid according to Policy: ${why}`);
}

function fieldName(raw: unknown): string {
  if (typeof raw !== "string" || !raw.startsWith("$")) throw invalid(`condition field ${JSON.stringify(raw)}`);
  return raw.slice(1).toLowerCase();
}

function parseCondition(c: unknown): Condition {
  if (Array.isArray(c)) {
    const [op, a, b] = c;
    if (c.length !== 3 || typeof op !== "string") throw invalid(`condition ${JSON.stringify(c)}`);
    const kind = op.toLowerCase();
    if (kind === "content-length-range") {
      const min = Number(a), max = Number(b);
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) {
        throw invalid(`content-length-range ${JSON.stringify(c)}`);
      }
      return { kind, min, max };
    }
    if ((kind === "eq" || kind === "starts-with") && typeof b === "string") {
      return { kind, field: fieldName(a), value: b };
    }
    throw invalid(`condition ${JSON.stringify(c)}`);
  }
  if (c !== null && typeof c === "object") {
    const entries = Object.entries(c);
    if (entries.length === 1 && typeof entries[0]![1] === "string") {
      return { kind: "eq", field: entries[0]![0].toLowerCase(), value: entries[0]![1] };
    }
  }
  throw invalid(`condition ${JSON.stringify(c)}`);
}

/** Decodes and checks the shape of a base64 policy document. */
export function parsePostPolicy(base64: string): PostPolicy {
  let doc: { expiration?: unknown; conditions?: unknown };
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.fromBase64(base64)));
  } catch {
    throw invalid("the policy is not base64-encoded JSON");
  }
  const expiration = typeof doc?.expiration === "string" ? new Date(doc.expiration) : undefined;
  if (!expiration || Number.isNaN(expiration.getTime())) throw invalid("expiration must be an ISO 8601 date");
  if (!Array.isArray(doc.conditions)) throw invalid("conditions must be a list");
  return { expiration, conditions: doc.conditions.map(parseCondition) };
}

/**
 * Checks `form` (lower-case names; `key` with `${filename}` already substituted, `bucket` set to the request's
 * bucket) against `policy` at `now`; returns the file size range the policy allows.
 */
export function checkPostPolicy(
  policy: PostPolicy,
  form: Map<string, string>,
  now: Date,
): { minBytes: number; maxBytes: number } {
  if (now > policy.expiration) throw denied("Policy expired.");
  let minBytes = 0;
  let maxBytes = Number.MAX_SAFE_INTEGER;
  const named = new Set<string>();
  for (const c of policy.conditions) {
    if (c.kind === "content-length-range") {
      minBytes = Math.max(minBytes, c.min);
      maxBytes = Math.min(maxBytes, c.max);
      continue;
    }
    named.add(c.field);
    const value = form.get(c.field) ?? "";
    const holds = c.kind === "eq" ? value === c.value : value.startsWith(c.value);
    if (!holds) throw denied(`Policy Condition failed: ["${c.kind}", "$${c.field}", ${JSON.stringify(c.value)}]`);
  }
  const extra = [...form.keys()].filter((f) =>
    f !== "bucket" && !UNNAMED.has(f) && !f.startsWith("x-ignore-") && !named.has(f)
  );
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(", ")}`);
  return { minBytes, maxBytes };
}
