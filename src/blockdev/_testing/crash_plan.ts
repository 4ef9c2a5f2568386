/** The write sequence of the kill -9 test: write `n` puts seed `n` into slot `n * 7 mod CRASH_SLOTS`. */
import { pattern } from "./fixtures.ts";

export const CRASH_SLOTS = 600;
export const CRASH_BLOCK = 4096;

export function crashBlock(n: number): { offset: number; data: Uint8Array } {
  return { offset: ((n * 7) % CRASH_SLOTS) * CRASH_BLOCK, data: pattern(CRASH_BLOCK, n + 1) };
}
