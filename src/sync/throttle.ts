/**
 * Bandwidth limit for bytes streamed through the appliance: callers await `throttle(n)` before sending `n`
 * bytes, which spaces transfers so the average stays at `bytesPerSecond` across all workers of a run.
 *
 * @module
 */
export interface ThrottleTime {
  /** Monotonic milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_TIME: ThrottleTime = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export function createThrottle(bytesPerSecond: number, time: ThrottleTime = REAL_TIME) {
  let nextFree = time.now();
  return async (bytes: number): Promise<void> => {
    const t = time.now();
    const start = Math.max(t, nextFree);
    nextFree = start + (bytes / bytesPerSecond) * 1000;
    if (start - t > 1) await time.sleep(start - t);
  };
}
