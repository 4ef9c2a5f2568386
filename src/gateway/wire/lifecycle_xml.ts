/**
 * The `LifecycleConfiguration` document of PutBucketLifecycleConfiguration and GetBucketLifecycleConfiguration, read
 * strictly (what S3 refuses is refused with its codes; what the appliance cannot do, `NotImplemented`) and written
 * back as it was given (a rule-level `Prefix` or a `Filter`).
 *
 * @module
 */
import type { LifecycleRule } from "../../lifecycle/rules.ts";
import { S3Error } from "../s3_errors.ts";
import { readTag } from "./tagging_xml.ts";
import { childrenNamed, childText, type XmlElement, type XmlNode } from "./xml.ts";

export const MAX_LIFECYCLE_RULES = 1000;
const MAX_RULE_ID = 255;
const RULE_ELEMENTS = new Set([
  "ID",
  "Filter",
  "Prefix",
  "Status",
  "Expiration",
  "NoncurrentVersionExpiration",
  "AbortIncompleteMultipartUpload",
]);
const MAX_NEWER_NONCURRENT_VERSIONS = 100;
/** Actions that need what this appliance has not: storage classes to move to. */
const UNSUPPORTED: Record<string, string> = {
  Transition: "Transitions are not available: there is one storage class",
  NoncurrentVersionTransition: "Transitions are not available: there is one storage class",
};

function malformed(message: string): S3Error {
  return new S3Error("MalformedXML", message);
}

function refuseUnsupported(el: XmlElement): void {
  for (const child of el.children) {
    const why = UNSUPPORTED[child.name];
    if (why !== undefined) throw new S3Error("NotImplemented", `${child.name}: ${why}`);
  }
}

function only(el: XmlElement, allowed: string[]): void {
  refuseUnsupported(el);
  const unexpected = el.children.find((c) => !allowed.includes(c.name));
  if (unexpected) throw malformed(`Unexpected element ${unexpected.name} in ${el.name}`);
}

function positiveDays(text: string | undefined, what: string): number {
  const days = text?.trim() ?? "";
  if (!/^\d{1,6}$/.test(days) || Number(days) === 0) {
    throw new S3Error("InvalidArgument", `'${what}' must be a positive integer`);
  }
  return Number(days);
}

function byteCount(text: string, what: string): number {
  if (!/^\d{1,16}$/.test(text.trim())) throw new S3Error("InvalidArgument", `'${what}' must be a number of bytes`);
  return Number(text.trim());
}

const CONDITIONS = ["Prefix", "ObjectSizeGreaterThan", "ObjectSizeLessThan"];

/** Prefix, size and tag conditions of a `Filter`: one directly in it, or several in its one `And`. */
function readFilter(filter: XmlElement, rule: LifecycleRule): void {
  refuseUnsupported(filter);
  const [and] = childrenNamed(filter, "And");
  if (filter.children.length > 1) throw malformed("Several conditions of a Filter go in one And");
  const holder = and ?? filter;
  only(holder, [...CONDITIONS, "Tag"]);
  for (const name of CONDITIONS) {
    if (childrenNamed(holder, name).length > 1) throw malformed(`${name} may appear once in a Filter`);
  }
  const tags = childrenNamed(holder, "Tag").map(readTag);
  if (new Set(tags.map((t) => t.key)).size !== tags.length) {
    throw new S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.");
  }
  if (tags.length > 0) rule.tags = Object.fromEntries(tags.map((t) => [t.key, t.value]));
  rule.prefix = childText(holder, "Prefix") ?? "";
  const greater = childText(holder, "ObjectSizeGreaterThan");
  const less = childText(holder, "ObjectSizeLessThan");
  if (greater !== undefined) rule.sizeGreaterThan = byteCount(greater, "ObjectSizeGreaterThan");
  if (less !== undefined) rule.sizeLessThan = byteCount(less, "ObjectSizeLessThan");
  if (
    rule.sizeGreaterThan !== undefined && rule.sizeLessThan !== undefined && rule.sizeGreaterThan >= rule.sizeLessThan
  ) {
    throw new S3Error("InvalidArgument", "ObjectSizeGreaterThan must be less than ObjectSizeLessThan");
  }
}

const MIDNIGHT_UTC = /^(\d{4}-\d{2}-\d{2})(T00:00:00(\.0+)?(Z|[+-]00:?00)?)?$/;

/** An `Expiration`: days or a date, or else `ExpiredObjectDeleteMarker` (a version action) alone. */
function readExpiration(el: XmlElement, rule: LifecycleRule): void {
  const marker = childText(el, "ExpiredObjectDeleteMarker")?.trim();
  if (marker !== undefined) {
    only(el, ["ExpiredObjectDeleteMarker"]);
    if (marker !== "true" && marker !== "false") throw malformed("ExpiredObjectDeleteMarker is true or false");
    if (rule.tags) throw new S3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Tags.");
    rule.versionActions = { ...rule.versionActions, expiredObjectDeleteMarker: marker === "true" };
    return;
  }
  rule.expiration = readDaysOrDate(el);
}

function readNoncurrentExpiration(el: XmlElement, rule: LifecycleRule): void {
  only(el, ["NoncurrentDays", "NewerNoncurrentVersions"]);
  const newer = childText(el, "NewerNoncurrentVersions")?.trim();
  if (
    newer !== undefined &&
    (!/^\d{1,3}$/.test(newer) || Number(newer) < 1 || Number(newer) > MAX_NEWER_NONCURRENT_VERSIONS)
  ) {
    throw new S3Error(
      "InvalidArgument",
      `'NewerNoncurrentVersions' must be between 1 and ${MAX_NEWER_NONCURRENT_VERSIONS}`,
    );
  }
  rule.versionActions = {
    ...rule.versionActions,
    noncurrentDays: positiveDays(childText(el, "NoncurrentDays"), "NoncurrentDays"),
    ...(newer !== undefined ? { newerNoncurrentVersions: Number(newer) } : {}),
  };
}

function readDaysOrDate(el: XmlElement): NonNullable<LifecycleRule["expiration"]> {
  only(el, ["Days", "Date"]);
  const days = childText(el, "Days");
  const date = childText(el, "Date")?.trim();
  if ((days === undefined) === (date === undefined)) throw malformed("Expiration takes either Days or Date");
  if (days !== undefined) return { days: positiveDays(days, "Days") };
  const midnight = MIDNIGHT_UTC.exec(date!);
  const parsed = midnight ? new Date(`${midnight[1]}T00:00:00Z`) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime())) {
    throw new S3Error("InvalidArgument", `'Date' must be at midnight GMT, not "${date}"`);
  }
  return { date: parsed };
}

function parseRule(el: XmlElement): LifecycleRule {
  refuseUnsupported(el);
  for (const child of el.children) {
    if (!RULE_ELEMENTS.has(child.name)) throw malformed(`Unexpected element ${child.name} in Rule`);
    if (childrenNamed(el, child.name).length > 1) throw malformed(`${child.name} may appear once per Rule`);
  }
  const status = childText(el, "Status")?.trim();
  if (status !== "Enabled" && status !== "Disabled") throw malformed("Every Rule needs a Status: Enabled or Disabled");
  const rule: LifecycleRule = { enabled: status === "Enabled", prefix: "" };
  const id = childText(el, "ID")?.trim();
  if (id !== undefined) {
    if (id.length > MAX_RULE_ID) throw new S3Error("InvalidArgument", `A rule ID is at most ${MAX_RULE_ID} characters`);
    rule.id = id;
  }
  const [filter] = childrenNamed(el, "Filter");
  const legacyPrefix = childText(el, "Prefix");
  if (filter && legacyPrefix !== undefined) throw malformed("A Rule takes either a Filter or a Prefix");
  if (filter) readFilter(filter, rule);
  else if (legacyPrefix !== undefined) Object.assign(rule, { prefix: legacyPrefix, legacyPrefix: true });
  const [expiration] = childrenNamed(el, "Expiration");
  if (expiration) readExpiration(expiration, rule);
  const [noncurrent] = childrenNamed(el, "NoncurrentVersionExpiration");
  if (noncurrent) readNoncurrentExpiration(noncurrent, rule);
  const [abort] = childrenNamed(el, "AbortIncompleteMultipartUpload");
  if (abort) {
    only(abort, ["DaysAfterInitiation"]);
    rule.abortIncompleteUploadDays = positiveDays(childText(abort, "DaysAfterInitiation"), "DaysAfterInitiation");
  }
  if (!expiration && !abort && !noncurrent) {
    throw new S3Error("InvalidRequest", "At least one action needs to be specified in a rule");
  }
  if (abort && rule.tags) {
    throw new S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags.");
  }
  return rule;
}

/** The rules of a `LifecycleConfiguration` element. */
export function parseLifecycleConfiguration(root: XmlElement): LifecycleRule[] {
  if (root.children.some((c) => c.name !== "Rule")) throw malformed("LifecycleConfiguration holds only Rule elements");
  const rules = root.children.map(parseRule);
  if (rules.length === 0 || rules.length > MAX_LIFECYCLE_RULES) {
    throw malformed(`A lifecycle configuration holds between 1 and ${MAX_LIFECYCLE_RULES} rules`);
  }
  const ids = rules.flatMap((r) => (r.id === undefined ? [] : [r.id]));
  if (new Set(ids).size !== ids.length) {
    throw new S3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule");
  }
  return rules;
}

function filterXml(rule: LifecycleRule): XmlNode {
  const tags = Object.entries(rule.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
  const conditions: XmlNode = {
    Prefix: rule.prefix === "" ? undefined : rule.prefix,
    Tag: tags.length > 0 ? tags : undefined,
    ObjectSizeGreaterThan: rule.sizeGreaterThan,
    ObjectSizeLessThan: rule.sizeLessThan,
  };
  const count = [rule.prefix !== "", rule.sizeGreaterThan !== undefined, rule.sizeLessThan !== undefined]
    .filter((set) => set).length + tags.length;
  if (count > 1) return { And: conditions };
  return count === 0 ? { Prefix: "" } : conditions;
}

function expirationXml(rule: LifecycleRule): XmlNode | undefined {
  if (rule.expiration) {
    return "days" in rule.expiration ? { Days: rule.expiration.days } : { Date: rule.expiration.date };
  }
  const marker = rule.versionActions?.expiredObjectDeleteMarker;
  return marker === undefined ? undefined : { ExpiredObjectDeleteMarker: marker };
}

/** `rules`, each without an ID given one, as S3 names them when they are stored. */
export function withRuleIds(rules: LifecycleRule[]): LifecycleRule[] {
  return rules.map((rule) => (rule.id === undefined ? { ...rule, id: crypto.randomUUID() } : rule));
}

/** The body of a `LifecycleConfiguration` document holding `rules`. */
export function lifecycleConfigurationXml(rules: readonly LifecycleRule[]): XmlNode {
  return {
    Rule: rules.map((rule) => ({
      ID: rule.id,
      ...(rule.legacyPrefix ? { Prefix: rule.prefix } : { Filter: filterXml(rule) }),
      Status: rule.enabled ? "Enabled" : "Disabled",
      Expiration: expirationXml(rule),
      NoncurrentVersionExpiration: rule.versionActions?.noncurrentDays === undefined ? undefined : {
        NoncurrentDays: rule.versionActions.noncurrentDays,
        NewerNoncurrentVersions: rule.versionActions.newerNoncurrentVersions,
      },
      AbortIncompleteMultipartUpload: rule.abortIncompleteUploadDays === undefined
        ? undefined
        : { DaysAfterInitiation: rule.abortIncompleteUploadDays },
    })),
  };
}
