/**
 * Tags as S3 takes them, with its rules: the `Tagging` document of Put/GetBucketTagging and Put/GetObjectTagging,
 * and the `x-amz-tagging` header of object writes (URL-encoded `key=value` pairs joined by `&`). At most 50 tags on
 * a bucket and 10 on an object; keys of 1 to 128 characters and unique, values of at most 256, both of letters,
 * digits, white space and `_ . : / = + - @` only, and no keys in the reserved `aws:` namespace.
 *
 * @module
 */
import type { BucketTag } from "../bucket_config.ts";
import { S3Error } from "../s3_errors.ts";
import { childrenNamed, childText, type XmlElement, type XmlNode } from "./xml.ts";

export const MAX_BUCKET_TAGS = 50;
export const MAX_OBJECT_TAGS = 10;
const MAX_KEY = 128;
const MAX_VALUE = 256;

function malformed(message: string): S3Error {
  return new S3Error("MalformedXML", message);
}

/** What S3 takes in a tag's key and value: letters, digits, white space and `_ . : / = + - @`. */
const TAG_TEXT = /^[\p{L}\p{N}\s_.:/=+\-@]*$/u;

function checkTag(tag: BucketTag): BucketTag {
  const { key, value } = tag;
  if (!TAG_TEXT.test(key)) throw new S3Error("InvalidTag", "The TagKey you have provided is invalid");
  if (!TAG_TEXT.test(value)) throw new S3Error("InvalidTag", "The TagValue you have provided is invalid");
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
  return tag;
}

/** Checks a whole tag set: each tag, their number, and that no key comes twice. */
function checkTagSet(tags: BucketTag[], max: number): BucketTag[] {
  tags.forEach(checkTag);
  if (tags.length > max) {
    throw max === MAX_OBJECT_TAGS
      ? new S3Error("BadRequest", `Object tags cannot be greater than ${max}`)
      : new S3Error("InvalidTag", `A bucket has at most ${max} tags`);
  }
  if (new Set(tags.map((t) => t.key)).size !== tags.length) {
    throw new S3Error("InvalidTag", "Cannot provide multiple Tags with the same key");
  }
  return tags;
}

function parseTag(el: XmlElement): BucketTag {
  if (el.children.some((c) => c.name !== "Key" && c.name !== "Value")) throw malformed("A Tag holds a Key and a Value");
  const key = childText(el, "Key");
  const value = childText(el, "Value");
  if (key === undefined || value === undefined) throw malformed("Every Tag needs a Key and a Value");
  return { key, value };
}

/** One `Tag` element (Key and Value), checked against S3's rules for a tag. */
export function readTag(el: XmlElement): BucketTag {
  return checkTag(parseTag(el));
}

/** The tags of a `Tagging` element, at most `max` (a bucket's limit by default). */
export function parseTagging(root: XmlElement, max = MAX_BUCKET_TAGS): BucketTag[] {
  const sets = childrenNamed(root, "TagSet");
  if (sets.length !== 1 || root.children.length !== 1) throw malformed("Tagging holds one TagSet");
  const set = sets[0]!;
  if (set.children.some((c) => c.name !== "Tag")) throw malformed("A TagSet holds only Tag elements");
  return checkTagSet(set.children.map(parseTag), max);
}

/** The tags of an `x-amz-tagging` header. */
export function parseTaggingHeader(value: string): Record<string, string> {
  const tags: BucketTag[] = [];
  for (const pair of value.split("&")) {
    if (pair === "") continue;
    const at = pair.indexOf("=");
    const [key, v] = at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
    try {
      tags.push({
        key: decodeURIComponent(key.replaceAll("+", " ")),
        value: decodeURIComponent(v.replaceAll("+", " ")),
      });
    } catch {
      throw new S3Error(
        "InvalidArgument",
        "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
        {
          fields: { ArgumentName: "x-amz-tagging", ArgumentValue: value },
        },
      );
    }
  }
  return Object.fromEntries(checkTagSet(tags, MAX_OBJECT_TAGS).map((t) => [t.key, t.value]));
}

/** The body of a `Tagging` document holding `tags`. */
export function taggingXml(tags: readonly BucketTag[]): XmlNode {
  return { TagSet: { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) } };
}
