// What the impairment relay does to one datagram, decided by a seeded PRNG so a failing run can be
// replayed: forward it at once, hold it back a little (which reorders it behind later packets),
// and/or send it twice. Pure: no sockets, no clock.

export interface ImpairmentSettings {
  /** Fraction of datagrams sent twice, 0..1. */
  readonly duplicate: number;
  /** Fraction of datagrams held back, 0..1; later datagrams overtake them. */
  readonly reorder: number;
  /** A held datagram waits 1..maxDelayMs ms. */
  readonly maxDelayMs: number;
  readonly seed: number;
}

/** Delays (ms) at which copies of one datagram go out: [0] is a plain forward. */
export function planDeliveries(settings: ImpairmentSettings, random: () => number): number[] {
  const delay = () => 1 + Math.floor(random() * settings.maxDelayMs);
  const first = random() < settings.reorder ? delay() : 0;
  // The duplicate trails the original by its own delay, so it too can land out of order.
  return random() < settings.duplicate ? [first, first + delay()] : [first];
}
