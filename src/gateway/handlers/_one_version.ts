/**
 * Requests that read an object (or its description) more than once answer for one version of it: a ranged GET (its
 * checks, then its bytes), a copy (its conditions, then the copy), GetObjectAttributes (the description, then the
 * parts). `attempt` does the reads and returns undefined, having released what it holds, when it found the object
 * replaced between them; it then runs again, up to a bound. An object replaced that often answers ServiceUnavailable,
 * which clients retry.
 *
 * @module
 */
import { S3Error } from "../s3_errors.ts";

const ATTEMPTS = 5;

export async function onOneVersion<T>(attempt: () => Promise<T | undefined>): Promise<T> {
  for (let n = 0; n < ATTEMPTS; n++) {
    const done = await attempt();
    if (done !== undefined) return done;
  }
  throw new S3Error("ServiceUnavailable", "The object keeps being replaced while it is read; try again");
}
