/**
 * What a bucket holds beyond its objects and clients set through the S3 API: its CORS rules, lifecycle rules and tags.
 * The appliance keeps them in the bucket's database row (`bucket_router.ts`); a gateway over a bare store keeps them
 * in memory.
 *
 * @module
 */
import type { LifecycleRule } from "../lifecycle/rules.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { CorsRule } from "./cors.ts";

/** A tag of the bucket (PutBucketTagging): cost allocation, ownership, whatever the admin files buckets by. */
export interface BucketTag {
  key: string;
  value: string;
}

export interface BucketConfig {
  cors: CorsRule[];
  lifecycle: LifecycleRule[];
  tags: BucketTag[];
}

export type BucketConfigName = keyof BucketConfig;

/** Every setting, each kept in the bucket's database column of the same name. */
export const BUCKET_CONFIG_NAMES: readonly BucketConfigName[] = ["cors", "lifecycle", "tags"];

export interface BucketConfigStore {
  /** One setting of `bucket`, undefined when it is not set; NoSuchBucket when the bucket does not exist. */
  configOf<K extends BucketConfigName>(
    bucket: string,
    name: K,
  ): BucketConfig[K] | undefined | Promise<BucketConfig[K] | undefined>;
  /** Replaces one setting of an existing bucket (undefined removes it); NoSuchBucket when it does not exist. */
  setConfig<K extends BucketConfigName>(bucket: string, name: K, value: BucketConfig[K] | undefined): Promise<void>;
}

/**
 * Settings kept in memory for the buckets of `store`, lost on restart: for a gateway over a bare store (tests, tools).
 * They are tied to the bucket's creation time, so a bucket deleted and created again starts without them.
 */
export function createMemoryBucketConfigStore(store: Pick<ObjectStore, "headBucket">): BucketConfigStore {
  const held = new Map<string, { createdAt: number; config: Partial<BucketConfig> }>();
  async function current(bucket: string): Promise<{ createdAt: number; config: Partial<BucketConfig> }> {
    const createdAt = (await store.headBucket(bucket)).createdAt.getTime();
    const entry = held.get(bucket);
    if (entry?.createdAt === createdAt) return entry;
    const fresh = { createdAt, config: {} };
    held.set(bucket, fresh);
    return fresh;
  }
  return {
    async configOf(bucket, name) {
      return (await current(bucket)).config[name];
    },
    async setConfig(bucket, name, value) {
      const { config } = await current(bucket);
      if (value === undefined) delete config[name];
      else config[name] = value;
    },
  };
}

/** A setting from the JSON kept in the database (`JSON.stringify` of it; lifecycle dates come back as `Date`s). */
export function decodeConfig<K extends BucketConfigName>(name: K, json: string): BucketConfig[K] {
  const value = JSON.parse(json);
  if (name === "lifecycle") {
    for (const rule of value as LifecycleRule[]) {
      const expiration = rule.expiration as { date?: string | Date } | undefined;
      if (typeof expiration?.date === "string") expiration.date = new Date(expiration.date);
    }
  }
  return value;
}
