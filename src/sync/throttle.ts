/**
 * Bandwidth limit for bytes streamed through the appliance: callers await `throttle(n)` before sending `n`
 * bytes, which spaces transfers so the average stays at `bytesPerSecond` across all workers of a run.
 *
 * @module
 */
export function createThrottle(bytesPerSecond: number, now: () => number = performance.now.bind(performance)) {
  let nextFree = now();
  return async (bytes: number): Promise<void> => {
    const t = now();
    const start = Math.max(t, nextFree);
    nextFree = start + (bytes / bytesPerSecond) * 1000;
    const wait = start - t;
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  };
}
