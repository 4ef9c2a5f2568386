/**
 * One process at a time: an exclusive advisory lock (`flock`) on a file. The kernel drops it when the process ends,
 * however it ends, so a crash or `kill -9` leaves no stale lock behind. The holder writes its pid into the file, so
 * a refused process can name the one that holds it.
 *
 * @module
 */
import { AppError } from "./errors.ts";

export interface HeldLock {
  /** Lets go of the lock (closing the file drops it). */
  release(): void;
}

/**
 * Takes the lock on `path` (created mode 0600 when missing) or throws `Conflict` with `refusal` and the holder's pid.
 * Never waits for the holder.
 */
export async function lockExclusively(path: string, refusal: string): Promise<HeldLock> {
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  try {
    if (!await file.tryLock(true)) {
      const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
      throw new AppError("Conflict", `${refusal}${/^\d+$/.test(holder) ? ` (held by pid ${holder})` : ""}`);
    }
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (err) {
    file.close();
    throw err;
  }
  let held = true;
  return {
    release() {
      if (held) {
        held = false;
        file.close();
      }
    },
  };
}
