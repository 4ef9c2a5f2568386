/**
 * The `ObjectStore` contract suite. Every backend (and the gateway, through the `s3` backend) runs it:
 *
 * ```ts
 * objectStoreContract("fs", async () => {
 *   const root = await Deno.makeTempDir();
 *   return { store: await createFsStore({ root }), cleanup: () => Deno.remove(root, { recursive: true }) };
 * });
 * ```
 *
 * It registers one `Deno.test` whose steps are the contract cases; `makeStore` is called once, and each case
 * works in its own fresh bucket, so the suite also runs against slow-to-start or shared servers.
 *
 * @module
 */
import type { ObjectStore } from "../mod.ts";
import { emptyAndDeleteBucket } from "./contract_helpers.ts";
import { basicCases } from "./contract_basic_cases.ts";
import { listingCases } from "./contract_listing_cases.ts";
import { multipartCases, partReadCases } from "./contract_multipart_cases.ts";
import { conditionCases } from "./contract_condition_cases.ts";
import { taggingCases } from "./contract_tagging_cases.ts";
import { checksumCases } from "./contract_checksum_cases.ts";

/**
 * Known, documented ways a third-party server deviates from S3. Each field holds the reason (shown in the test
 * name); only the named check is relaxed, and only for the server that declares it.
 */
export interface ContractDeviations {
  /** Creating a bucket the caller already owns succeeds instead of failing with BucketAlreadyExists. */
  recreateOwnBucketSucceeds?: string;
  /** `x-amz-checksum-*` values are not stored or not returned. */
  checksumsNotStored?: string;
  /** Multipart uploads lack S3's rules/ETag or the list/abort/part-copy operations: multipart cases are ignored. */
  multipartUnsupported?: string;
  /** Listings are not in UTF-8 byte order or mis-paginate: listing cases are ignored. */
  listingNotS3Conformant?: string;
  /** Keys with empty path segments or very long segments fail: the odd-keys case is ignored. */
  oddKeysUnsupported?: string;
  /** `Range: bytes=0-0` returns the whole object (an end of 0 is read as "no end"). */
  rangeEndZeroIgnored?: string;
  /** A request body cut off before its Content-Length is stored truncated instead of being discarded. */
  storesInterruptedBodies?: string;
  /** CompleteMultipartUpload fails unless it lists every uploaded part (S3 lets a completion leave parts out). */
  completeRequiresAllParts?: string;
  /** Checksums filled in while the body streams (aws-chunked trailers) are stored only when its length is known. */
  lateChecksumsNeedLength?: string;
  /** GET ignores `partNumber` (answers the whole object): the `s3` backend must refuse rather than pass that on. */
  partNumberIgnored?: string;
  /** PUT ignores `If-None-Match` / `If-Match`: the conditional-write cases are ignored. */
  conditionalWritesIgnored?: string;
  /** DELETE ignores `If-Match` (the `s3` backend checks the ETag first, not atomically): the race case is ignored. */
  conditionalDeletesNotAtomic?: string;
  /** CompleteMultipartUpload ignores `If-None-Match` / `If-Match`: the conditional-completion case is ignored. */
  conditionalCompleteIgnored?: string;
  /** `If-Match` on a missing key fails with PreconditionFailed instead of NoSuchKey. */
  ifMatchMissingKeyIsPreconditionFailed?: string;
  /** Tags given with a write (`x-amz-tagging`, a copy's tagging directive) are not stored or not counted on GET. */
  tagsOnWritesIgnored?: string;
  /** Tags given to CreateMultipartUpload are not on the completed object. */
  multipartTagsIgnored?: string;
  /** Setting an object's tags gives it a new last-modified time. */
  taggingChangesLastModified?: string;
  /** Setting tags while the object is being replaced fails (the write itself succeeds): the race case is ignored. */
  taggingRacesFail?: string;
  /** GetObjectAttributes is not served, so a multipart object's parts cannot be listed. */
  objectAttributesUnsupported?: string;
  /** Copies ignore `x-amz-copy-source-if-match` (the `s3` backend checks the ETag first, not atomically). */
  copySourceIfMatchIgnored?: string;
}

export interface ContractContext {
  store: ObjectStore;
  /** A fresh, empty bucket for this case. */
  bucket: string;
  /** Creates another fresh bucket (removed after the case). */
  newBucket(): Promise<string>;
  deviations: ContractDeviations;
}

export interface ContractCase {
  name: string;
  /** The case is reported as ignored for a server that declares this deviation (or any of these). */
  unsupportedWhen?: keyof ContractDeviations | (keyof ContractDeviations)[];
  fn(ctx: ContractContext): Promise<void>;
}

export interface ContractOptions {
  deviations?: ContractDeviations;
  /** Prefix for bucket names (lower case), so runs against shared servers are recognizable. */
  bucketPrefix?: string;
  /** Backend-specific cases run in the same test (and against the same store) after the contract's own. */
  extraCases?: ContractCase[];
}

export function objectStoreContract(
  name: string,
  makeStore: () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>,
  options: ContractOptions = {},
): void {
  const deviations = options.deviations ?? {};
  const noted = Object.entries(deviations).filter(([, why]) => why).map(([what]) => what);
  const title = `ObjectStore contract: ${name}${noted.length ? ` (documented deviations: ${noted.join(", ")})` : ""}`;
  Deno.test(title, async (t) => {
    const { store, cleanup } = await makeStore();
    const run = crypto.randomUUID().slice(0, 8);
    let counter = 0;
    try {
      for (
        const c of [
          ...basicCases,
          ...conditionCases,
          ...listingCases,
          ...multipartCases,
          ...partReadCases,
          ...taggingCases,
          ...checksumCases,
          ...(options.extraCases ?? []),
        ]
      ) {
        const ignore = [c.unsupportedWhen ?? []].flat().some((deviation) => Boolean(deviations[deviation]));
        await t.step({
          name: c.name,
          ignore,
          fn: async () => {
            const created: string[] = [];
            const newBucket = async () => {
              const bucket = `${options.bucketPrefix ?? "contract"}-${run}-${++counter}`;
              await store.createBucket(bucket);
              created.push(bucket);
              return bucket;
            };
            const bucket = await newBucket();
            try {
              await c.fn({ store, bucket, newBucket, deviations });
            } finally {
              for (const b of created) await emptyAndDeleteBucket(store, b, !deviations.multipartUnsupported);
            }
          },
        });
      }
    } finally {
      await store.close();
      await cleanup();
    }
  });
}
