/**
 * The free space of the fs backend's file system: its capacity (for `/metrics` and health), and the reserve that
 * keeps writes of objects from filling it. The appliance's database and journals usually live on the same file
 * system; a disk filled by objects would leave them no room for the next record, and deleting objects needs none.
 *
 * @module
 */
import { statfsSync } from "node:fs";
import { AppError } from "../errors.ts";
import type { StoreCapacity } from "./mod.ts";

/** The reserve when none is configured: 1 GiB, at most a tenth of the file system. */
export const DEFAULT_MIN_FREE_BYTES = 1024 ** 3;

/** How long a reading of the free space is trusted (writes finished since are subtracted from it). */
const SAMPLE_MS = 1000;

export interface SpaceGuard {
  capacity(): StoreCapacity;
  /**
   * Runs `write` of up to `bytes` once there is room for it: NoSpace, without running it, when it would leave less
   * than the reserve free, counting the writes still running.
   */
  withRoom<T>(bytes: number, write: () => Promise<T>): Promise<T>;
}

export function createSpaceGuard(root: string, minFreeBytes: number | undefined): SpaceGuard {
  let sampledAt = -Infinity;
  let current: StoreCapacity = { totalBytes: 0, availableBytes: 0, minFreeBytes: 0 };
  /** Bytes admitted to writes still running; those partly written are counted twice, which errs on the safe side. */
  let running = 0;
  const sample = (): StoreCapacity => {
    const fs = statfsSync(root);
    const totalBytes = fs.blocks * fs.bsize;
    current = {
      totalBytes,
      availableBytes: fs.bavail * fs.bsize,
      minFreeBytes: minFreeBytes ?? Math.min(DEFAULT_MIN_FREE_BYTES, Math.floor(totalBytes / 10)),
    };
    sampledAt = performance.now();
    return current;
  };
  const fits = (bytes: number) => current.availableBytes - running - bytes >= current.minFreeBytes;
  return {
    capacity: () => ({ ...sample() }),
    async withRoom(bytes, write) {
      if (performance.now() - sampledAt > SAMPLE_MS) sample();
      // A refusal is checked against a fresh reading: space may have been freed since the last one.
      if (!fits(bytes) && (sample(), !fits(bytes))) {
        throw new AppError(
          "NoSpace",
          `Not enough free space: ${bytes} more bytes would leave less than the ${current.minFreeBytes} bytes ` +
            `kept free on the backend's file system (${current.availableBytes - running} available; see minFreeBytes)`,
        );
      }
      running += bytes;
      try {
        return await write();
      } finally {
        running -= bytes;
        // Until the next reading, the bytes are taken (a failed write's are freed again by then).
        current.availableBytes -= bytes;
      }
    },
  };
}
