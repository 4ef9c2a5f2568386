/** The `x-amz-expiration` header S3 gives an object that a lifecycle rule of its bucket will delete. @module */
import { objectExpiry } from "../../lifecycle/rules.ts";
import type { ObjectInfo, ObjectTags } from "../../storage/mod.ts";
import type { RequestContext } from "./_context.ts";
import { httpDate } from "./_object_headers.ts";

/**
 * `expiry-date="…", rule-id="…"` for `object`, or undefined when no rule expires it. `tags`: the object's, when the
 * caller has them (a write); else they are read if a rule with tags needs them.
 */
export async function expirationOf(
  ctx: RequestContext,
  bucket: string,
  object: ObjectInfo,
  tags?: ObjectTags,
): Promise<string | undefined> {
  const rules = await ctx.bucketConfig.configOf(bucket, "lifecycle");
  if (!rules) return undefined;
  const tagsOf = tags ? () => Promise.resolve(tags) : () => ctx.store.getObjectTagging(bucket, object.key);
  const expiry = await objectExpiry(rules, object, tagsOf);
  if (!expiry) return undefined;
  // The rule's ID URL-encoded, as S3 sends it: an ID is any text, a header value is not.
  return `expiry-date="${httpDate(expiry.date)}", rule-id="${encodeURIComponent(expiry.rule.id ?? "")}"`;
}
