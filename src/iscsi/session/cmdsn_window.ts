/**
 * The session's command window (RFC 7143 §4.2.2.1): serial-number arithmetic on 32-bit CmdSN, ExpCmdSN, and a
 * MaxCmdSN that honestly reflects free queue slots and never moves backwards. Pure.
 */

/** RFC 1982 serial comparison: true when a < b. */
export function snLessThan(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) < 0x80000000;
}

export function snAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

export interface CmdSnWindow {
  expCmdSN: number;
  maxCmdSN: number;
  /** Non-immediate commands accepted and not yet answered. */
  inFlight: number;
  depth: number;
}

export type Admission = "accept" | "queue" | "drop";

export function createWindow(initialCmdSN: number, depth: number): CmdSnWindow {
  return { expCmdSN: initialCmdSN >>> 0, maxCmdSN: snAdd(initialCmdSN, depth - 1), inFlight: 0, depth };
}

/** Whether a command numbered `cmdSN` runs now, waits for a gap to fill, or is outside the window (ignored). */
export function admit(w: CmdSnWindow, cmdSN: number, immediate: boolean): Admission {
  if (immediate) return "accept";
  const inWindow = !snLessThan(cmdSN, w.expCmdSN) && !snLessThan(w.maxCmdSN, cmdSN);
  if (!inWindow) return "drop";
  return cmdSN === w.expCmdSN ? "accept" : "queue";
}

/** Advance after accepting the in-order command `cmdSN`. */
export function accepted(w: CmdSnWindow): CmdSnWindow {
  return { ...w, expCmdSN: snAdd(w.expCmdSN, 1), inFlight: w.inFlight + 1 };
}

/** A non-immediate command finished: a queue slot is free again and the window may open further. */
export function completed(w: CmdSnWindow): CmdSnWindow {
  const inFlight = Math.max(0, w.inFlight - 1);
  const candidate = snAdd(w.expCmdSN, w.depth - inFlight - 1);
  return { ...w, inFlight, maxCmdSN: snLessThan(w.maxCmdSN, candidate) ? candidate : w.maxCmdSN };
}
