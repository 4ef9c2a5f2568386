/** Injectable time source so logic never calls `Date.now()` directly. */
export interface Clock {
  now(): Date;
}

/** The real wall clock. */
export function systemClock(): Clock {
  return { now: () => new Date() };
}

/** A clock tests can move by hand. */
export function fakeClock(
  start: Date = new Date("2026-01-01T00:00:00Z"),
): Clock & { advance(ms: number): void; set(d: Date): void } {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
    set: (d: Date) => {
      t = d.getTime();
    },
  };
}
