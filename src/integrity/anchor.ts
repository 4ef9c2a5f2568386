/**
 * Anchors: copies of the signed checkpoints, the leaf hashes they cover and the verifier key, written outside
 * the database into a bucket on a storage backend (with S3 Object Lock retention where the backend has it),
 * so that rewriting the database alone cannot hide a change. Objects under `<prefix>`:
 *
 * - `key.txt`: the signed-note verifier key, written once;
 * - `checkpoints/<size, 20 digits>.note`: one signed checkpoint;
 * - `leaves/<from, 20 digits>-<to, 20 digits>.bin`: the 32-byte leaf hashes of records [from, to), concatenated.
 *
 * @module
 */
import { AppError, isAppError } from "../errors.ts";
import type { ObjectStore, PutOptions } from "../storage/mod.ts";
import { walkObjects } from "../storage/walk.ts";

export interface AnchorOptions {
  store: ObjectStore;
  bucket: string;
  prefix: string;
  /** Object Lock retention of each anchor object, in days (backends with Object Lock only). */
  retentionDays: number;
  lockMode: "GOVERNANCE" | "COMPLIANCE";
  now(): Date;
}

export interface Anchor {
  readonly location: string;
  /** Writes the key unless one is anchored; returns the anchored key (which may differ from `verifierKey`). */
  publishKey(verifierKey: string): Promise<string>;
  /** The anchored key as stored now (read each time), if any. */
  readKey(): Promise<string | undefined>;
  putCheckpoint(size: number, note: string): Promise<void>;
  putLeaves(from: number, leaves: Uint8Array): Promise<void>;
  checkpoints(): Promise<{ size: number; note: string }[]>;
  /** Leaf hashes anchored contiguously from 0 (32 bytes each). */
  leaves(): Promise<Uint8Array>;
}

const pad = (n: number) => String(n).padStart(20, "0");
const enc = new TextEncoder();

async function readAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

export function createAnchor(o: AnchorOptions): Anchor {
  let ready: Promise<void> | undefined;
  let published: string | undefined;

  function ensureBucket(): Promise<void> {
    ready ??= (async () => {
      try {
        await o.store.headBucket(o.bucket);
      } catch (err) {
        if (!isAppError(err, "NoSuchBucket")) throw err;
        await o.store.createBucket(o.bucket, { objectLock: o.store.capabilities.objectLock }).catch((e) => {
          if (!isAppError(e, "BucketAlreadyExists")) throw e;
        });
      }
    })().catch((err) => {
      ready = undefined;
      throw err;
    });
    return ready;
  }

  async function put(key: string, bytes: Uint8Array): Promise<void> {
    await ensureBucket();
    const options: PutOptions = { contentLength: bytes.length };
    if (o.store.capabilities.objectLock) {
      options.objectLock = {
        mode: o.lockMode,
        retainUntil: new Date(o.now().getTime() + o.retentionDays * 86_400_000),
      };
    }
    await o.store.putObject(o.bucket, o.prefix + key, new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(), options);
  }

  async function get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readAll((await o.store.getObject(o.bucket, o.prefix + key)).body);
    } catch (err) {
      if (isAppError(err, "NoSuchKey", "NoSuchBucket")) return undefined;
      throw err;
    }
  }

  async function list(sub: string): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const x of walkObjects(o.store, o.bucket, o.prefix + sub)) {
        keys.push(x.key.slice(o.prefix.length + sub.length));
      }
      return keys;
    } catch (err) {
      if (isAppError(err, "NoSuchBucket")) return [];
      throw err;
    }
  }

  async function readKey(): Promise<string | undefined> {
    const bytes = await get("key.txt");
    return bytes ? new TextDecoder().decode(bytes).trim() : undefined;
  }

  return {
    location: `${o.store.kind}:${o.bucket}/${o.prefix}`,

    async publishKey(verifierKey) {
      published ??= await readKey();
      if (published === undefined) {
        await put("key.txt", enc.encode(verifierKey + "\n"));
        published = verifierKey;
      }
      return published;
    },

    readKey,

    putCheckpoint: (size, note) => put(`checkpoints/${pad(size)}.note`, enc.encode(note)),

    putLeaves: (from, leaves) => put(`leaves/${pad(from)}-${pad(from + leaves.length / 32)}.bin`, leaves),

    async checkpoints() {
      const out: { size: number; note: string }[] = [];
      for (const name of await list("checkpoints/")) {
        const m = /^(\d{20})\.note$/.exec(name);
        const bytes = m ? await get(`checkpoints/${name}`) : undefined;
        if (m && bytes) out.push({ size: Number(m[1]), note: new TextDecoder().decode(bytes) });
      }
      return out;
    },

    async leaves() {
      const parts: Uint8Array[] = [];
      let next = 0;
      for (const name of await list("leaves/")) {
        const m = /^(\d{20})-(\d{20})\.bin$/.exec(name);
        if (!m || Number(m[1]) !== next) continue;
        const bytes = await get(`leaves/${name}`);
        if (!bytes || bytes.length !== (Number(m[2]) - next) * 32) {
          throw new AppError("Integrity", `Anchored leaf bundle ${name} has the wrong length`);
        }
        parts.push(bytes);
        next = Number(m[2]);
      }
      const out = new Uint8Array(next * 32);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
  };
}
