/** The `x-amz-expiration` header S3 gives an object that a lifecycle rule of its bucket will delete. @module */
import { objectExpiry } from "../../lifecycle/rules.ts";
import type { ObjectInfo } from "../../storage/mod.ts";
import type { RequestContext } from "./_context.ts";
import { httpDate } from "./_object_headers.ts";

/** `expiry-date="…", rule-id="…"` for `object`, or undefined when no rule expires it. */
export async function expirationOf(
  ctx: RequestContext,
  bucket: string,
  object: ObjectInfo,
): Promise<string | undefined> {
  const rules = await ctx.bucketConfig.configOf(bucket, "lifecycle");
  if (!rules) return undefined;
  const expiry = await objectExpiry(rules, object, () => ctx.store.getObjectTagging(bucket, object.key));
  if (!expiry) return undefined;
  return `expiry-date="${httpDate(expiry.date)}", rule-id="${(expiry.rule.id ?? "").replaceAll('"', '\\"')}"`;
}
