/**
 * The `Tagging` document of PutBucketTagging and GetBucketTagging, with S3's rules: at most 50 tags, keys of 1 to 128
 * characters and unique, values of at most 256, and no keys in the reserved `aws:` namespace.
 *
 * @module
 */
import type { BucketTag } from "../bucket_config.ts";
import { S3Error } from "../s3_errors.ts";
import { childrenNamed, childText, type XmlElement, type XmlNode } from "./xml.ts";

export const MAX_BUCKET_TAGS = 50;
const MAX_KEY = 128;
const MAX_VALUE = 256;

function malformed(message: string): S3Error {
  return new S3Error("MalformedXML", message);
}

function parseTag(el: XmlElement): BucketTag {
  if (el.children.some((c) => c.name !== "Key" && c.name !== "Value")) throw malformed("A Tag holds a Key and a Value");
  const key = childText(el, "Key");
  const value = childText(el, "Value");
  if (key === undefined || value === undefined) throw malformed("Every Tag needs a Key and a Value");
  // Lengths count characters, as S3 does (a key of 128 emoji is allowed).
  if ([...key].length < 1 || [...key].length > MAX_KEY) {
    throw new S3Error("InvalidTag", `The TagKey you have provided is invalid: 1 to ${MAX_KEY} characters`);
  }
  if ([...value].length > MAX_VALUE) {
    throw new S3Error("InvalidTag", `The TagValue you have provided is invalid: at most ${MAX_VALUE} characters`);
  }
  if (key.toLowerCase().startsWith("aws:")) {
    throw new S3Error("InvalidTag", "System tags cannot be added/updated by requester");
  }
  return { key, value };
}

/** The tags of a `Tagging` element. */
export function parseTagging(root: XmlElement): BucketTag[] {
  const sets = childrenNamed(root, "TagSet");
  if (sets.length !== 1 || root.children.length !== 1) throw malformed("Tagging holds one TagSet");
  const set = sets[0]!;
  if (set.children.some((c) => c.name !== "Tag")) throw malformed("A TagSet holds only Tag elements");
  const tags = set.children.map(parseTag);
  if (tags.length > MAX_BUCKET_TAGS) throw new S3Error("InvalidTag", `A bucket has at most ${MAX_BUCKET_TAGS} tags`);
  if (new Set(tags.map((t) => t.key)).size !== tags.length) {
    throw new S3Error("InvalidTag", "Cannot provide multiple Tags with the same key");
  }
  return tags;
}

/** The body of a `Tagging` document holding `tags`. */
export function taggingXml(tags: readonly BucketTag[]): XmlNode {
  return { TagSet: { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) } };
}
