/**
 * Test fixtures: a volume in an in-memory bucket with a temp cache dir, and a store whose backend can be
 * switched off (every call fails with Unavailable, as an unreachable S3 endpoint does).
 *
 * @module
 */
import { systemClock } from "../../clock.ts";
import { AppError } from "../../errors.ts";
import { silentLogger } from "../../log.ts";
import { createMemoryStore } from "../../storage/memory.ts";
import type { ObjectStore } from "../../storage/mod.ts";
import type { VolumeLocation, VolumeMeta } from "../layout.ts";
import { initVolume } from "../snapshots.ts";
import { openVolume, type Volume, type VolumeOptions } from "../volume.ts";

export interface SwitchableStore extends ObjectStore {
  down: boolean;
  /** Object operations attempted, by method name. */
  calls: Map<string, number>;
}

export function switchableStore(inner: ObjectStore): SwitchableStore {
  const calls = new Map<string, number>();
  const store = { down: false, calls } as SwitchableStore;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver);
      const value = Reflect.get(inner, prop);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        if (target.down) return Promise.reject(new AppError("Unavailable", "connect ECONNREFUSED 127.0.0.1:9"));
        return value.apply(inner, args);
      };
    },
    set(target, prop, value) {
      return Reflect.set(target, prop, value);
    },
  });
}

export const KiB = 1024;
export const CHUNK = 64 * KiB;

export interface VolumeFixture {
  store: SwitchableStore;
  loc: VolumeLocation;
  meta: VolumeMeta;
  cacheDir: string;
  open(options?: Partial<VolumeOptions>): Promise<Volume>;
  /** Keys under the volume's chunk folder. */
  chunkKeys(): Promise<string[]>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function volumeFixture(meta: Partial<VolumeMeta> = {}): Promise<VolumeFixture> {
  const store = switchableStore(createMemoryStore());
  await store.createBucket("volumes");
  const loc: VolumeLocation = { store, bucket: "volumes", prefix: "blockdev/vol1" };
  const full: VolumeMeta = {
    id: crypto.randomUUID(),
    sizeBytes: 16 * CHUNK,
    chunkSize: CHUNK,
    blockSize: 512,
    ...meta,
  };
  await initVolume(loc, full);
  const cacheDir = await Deno.makeTempDir({ prefix: "blockdev-test-" });
  return {
    store,
    loc,
    meta: full,
    cacheDir,
    open: (options = {}) =>
      openVolume({ loc, cacheDir, clock: systemClock(), logger: silentLogger(), flushDelayMs: 20, ...options }),
    async chunkKeys() {
      const page = await store.listObjects(loc.bucket, { prefix: `${loc.prefix}/chunks/` });
      return page.objects.map((o) => o.key);
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(cacheDir, { recursive: true });
    },
  };
}

/** Deterministic bytes: `length` bytes seeded by `seed`. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Polls `check` until it returns `expected` (or 5 s pass) and returns its last value. */
export async function eventually<T>(check: () => T | Promise<T>, expected: T): Promise<T> {
  let value = await check();
  for (let i = 0; i < 100 && value !== expected; i++) {
    await new Promise((r) => setTimeout(r, 50));
    value = await check();
  }
  return value;
}
