/**
 * The bucket settings clients set through S3, each read, replaced and removed the same way: PutBucketCors,
 * GetBucketCors, DeleteBucketCors, and the same three for lifecycle rules and for tags. Setting and removing take an admin key, as creating the
 * bucket does, and a body digest, as S3 requires; reading takes a key that may see the bucket.
 *
 * @module
 */
import type { BucketConfig, BucketConfigName } from "../bucket_config.ts";
import { maySeeBucket } from "../credentials.ts";
import { S3Error, type S3ErrorCode } from "../s3_errors.ts";
import { corsConfigurationXml, parseCorsConfiguration } from "../wire/cors_xml.ts";
import { lifecycleConfigurationXml, parseLifecycleConfiguration, withRuleIds } from "../wire/lifecycle_xml.ts";
import { parseTagging, taggingXml } from "../wire/tagging_xml.ts";
import type { XmlElement, XmlNode } from "../wire/xml.ts";
import { bucketOf, requireAdmin } from "./_context.ts";
import { emptyResponse, xmlResponse } from "./_respond.ts";
import { readXmlBody, requireBodyDigest } from "./_xml_body.ts";
import type { Handler } from "./mod.ts";

interface SettingDocument<K extends BucketConfigName> {
  name: K;
  /** The XML document's root element. */
  root: string;
  /** The error of a read when the setting is not set. */
  missing: S3ErrorCode;
  /** S3's limit on the document's size, when it has one below the gateway's. */
  maxBytes?: number;
  /** The status of a successful PUT: 200 unless S3 answers otherwise. */
  putStatus?: number;
  parse(root: XmlElement): BucketConfig[K];
  toXml(value: BucketConfig[K]): XmlNode;
}

function settingHandlers<K extends BucketConfigName>(
  doc: SettingDocument<K>,
): Record<"get" | "put" | "remove", Handler> {
  return {
    async get(ctx) {
      const bucket = bucketOf(ctx);
      if (!maySeeBucket(ctx.identity, bucket)) throw new S3Error("AccessDenied");
      const value = await ctx.bucketConfig.configOf(bucket, doc.name);
      if (value === undefined) throw new S3Error(doc.missing);
      return xmlResponse(ctx.ids, doc.root, doc.toXml(value));
    },
    async put(ctx) {
      const bucket = bucketOf(ctx);
      requireAdmin(ctx);
      requireBodyDigest(ctx.headers);
      const value = doc.parse(await readXmlBody(ctx, doc.root, { maxBytes: doc.maxBytes }));
      await ctx.bucketConfig.setConfig(bucket, doc.name, value);
      return emptyResponse(ctx.ids, doc.putStatus ?? 200);
    },
    async remove(ctx) {
      const bucket = bucketOf(ctx);
      requireAdmin(ctx);
      await ctx.bucketConfig.setConfig(bucket, doc.name, undefined);
      return emptyResponse(ctx.ids, 204);
    },
  };
}

const cors = settingHandlers({
  name: "cors",
  root: "CORSConfiguration",
  missing: "NoSuchCORSConfiguration",
  maxBytes: 64 * 1024,
  parse: parseCorsConfiguration,
  toXml: corsConfigurationXml,
});

/** The lifecycle service (`src/lifecycle/`) carries the rules out. */
const lifecycle = settingHandlers({
  name: "lifecycle",
  root: "LifecycleConfiguration",
  missing: "NoSuchLifecycleConfiguration",
  parse: (root) => withRuleIds(parseLifecycleConfiguration(root)),
  toXml: lifecycleConfigurationXml,
});

const tags = settingHandlers({
  name: "tags",
  root: "Tagging",
  missing: "NoSuchTagSet",
  putStatus: 204,
  parse: parseTagging,
  toXml: taggingXml,
});

export const BUCKET_CONFIG_HANDLERS = {
  GetBucketCors: cors.get,
  PutBucketCors: cors.put,
  DeleteBucketCors: cors.remove,
  GetBucketLifecycleConfiguration: lifecycle.get,
  PutBucketLifecycleConfiguration: lifecycle.put,
  DeleteBucketLifecycle: lifecycle.remove,
  GetBucketTagging: tags.get,
  PutBucketTagging: tags.put,
  DeleteBucketTagging: tags.remove,
};
