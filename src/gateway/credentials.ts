/**
 * Who may call the gateway: the `CredentialStore` lookup used by SigV4 verification, and the grant checks.
 * Admin keys have full access; other keys see only their bucket/prefix grants (write implies read).
 *
 * @module
 */

export type Permission = "read" | "write";

export interface Grant {
  bucket: string;
  /** Key prefix the grant covers; "" is the whole bucket. */
  prefix: string;
  permission: Permission;
}

export interface Credential {
  secretAccessKey: string;
  admin: boolean;
  grants: Grant[];
}

export interface CredentialStore {
  lookup(accessKeyId: string): Promise<Credential | null>;
}

/** The authenticated caller. */
export interface Identity {
  accessKeyId: string;
  admin: boolean;
  grants: Grant[];
}

function covers(grant: Grant, permission: Permission): boolean {
  return grant.permission === "write" || permission === "read";
}

/** One access to check: `key` is an object key, or the prefix of a listing. */
export interface Access {
  bucket: string;
  key: string;
  permission: Permission;
}

/** May `identity` use `key` (or list under `key` as a prefix) in `bucket` with `permission`? */
export function mayAccess(identity: Identity, access: Access): boolean {
  if (identity.admin) return true;
  return identity.grants.some((g) =>
    g.bucket === access.bucket && access.key.startsWith(g.prefix) && covers(g, access.permission)
  );
}

/** May `identity` see `bucket` at all (ListBuckets, HeadBucket, GetBucketLocation, bucket settings)? */
export function maySeeBucket(identity: Identity, bucket: string): boolean {
  return identity.admin || identity.grants.some((g) => g.bucket === bucket);
}

/** A fixed in-memory credential store (tests, bootstrap). */
export function createStaticCredentialStore(entries: Record<string, Credential>): CredentialStore {
  return { lookup: (id) => Promise.resolve(Object.hasOwn(entries, id) ? entries[id]! : null) };
}
