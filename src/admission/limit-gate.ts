// How the TFTP and MTFTP ports enforce their abuse limits and report them, in one place:
// - the per-client request rate (a KeyedRateLimiter shared by both ports: one budget per address);
// - every limit hit is counted, and logged once per episode of that limit (LimitEpisodes), never
//   per packet and never per client: a flood from 60,000 spoofed addresses is still one line;
// - whether a refused request gets a TFTP ERROR. Silence would leave a real client waiting for its
//   timeout, so refusals are answered; but answering a flood is itself traffic (and, with spoofed
//   sources, traffic aimed at a victim), so a rate-limited client gets one ERROR per episode, and
//   all refusal ERRORs together stay under REFUSAL_ERRORS_PER_S.
import type { Clock, Logger, LogFields } from '../io/ports.js';
import { KeyedRateLimiter } from './keyed-rate-limiter.js';
import { LimitEpisodes } from './limit-episodes.js';
import { countIn } from '../metrics/counters.js';

export type LimitName = 'request-rate' | 'client-transfers' | 'busy' | 'unconfirmed-evicted' | 'unconfirmed-expired' | 'multicast-groups';

/** Refusal ERRORs per second, all clients together (short ERRORs: ≤ 25 bytes each). */
export const REFUSAL_ERRORS_PER_S = 100;
/** A limit episode of a client ends after this long without hitting the limit. */
export const EPISODE_QUIET_MS = 10_000;

export interface RequestRateSettings {
  readonly clientRequestRate: number;
  readonly clientRequestBurst: number;
}

export interface LimitGateDeps {
  readonly clock: Clock;
  /** Shared between the TFTP and MTFTP ports. */
  readonly requestRate: KeyedRateLimiter;
  readonly logger: Logger;
  /** Hits by limit name, exposed as a metric. */
  readonly counts: Record<string, number>;
}

export class LimitGate {
  /** Per limit: when to log. */
  private readonly logEpisodes: LimitEpisodes;
  /** Per limit and client: when a client that is not answered each time gets its one ERROR. */
  private readonly clientEpisodes: LimitEpisodes;
  private readonly refusalErrors: KeyedRateLimiter;

  constructor(private readonly deps: LimitGateDeps) {
    const now = () => deps.clock.now();
    this.logEpisodes = new LimitEpisodes(now, EPISODE_QUIET_MS);
    this.clientEpisodes = new LimitEpisodes(now, EPISODE_QUIET_MS);
    this.refusalErrors = new KeyedRateLimiter(now, () => ({ ratePerS: REFUSAL_ERRORS_PER_S, burst: REFUSAL_ERRORS_PER_S }), 1);
  }

  /**
   * The request-rate rule of both ports: false admits the request of `address`; true refuses it,
   * counted as a `request-rate` hit, and calls `answer` with the ERROR text when this refusal is
   * answered (the first of the client's episode, within the shared ERROR budget).
   */
  refusedOverRate(address: string, rate: RequestRateSettings, answer: (message: string) => void): boolean {
    if (this.deps.requestRate.take(address)) return false;
    if (this.hit('request-rate', address, { rate: `${rate.clientRequestRate}/s (burst ${rate.clientRequestBurst})` }, false)) answer('too many requests');
    return true;
  }

  /** Whether a datagram that is not a request (malformed, or DATA/ACK on the request port) may be
   *  answered with an ERROR: such answers cost the client's request budget and the shared budget
   *  of refusal ERRORs, so nobody can turn the port into a reflector. */
  mayAnswerUnsolicited(address: string): boolean {
    return this.deps.requestRate.take(address) && this.refusalErrors.take('*');
  }

  /**
   * Records one hit of `limit` by `who` (a client address, or '*' for server-wide limits) and
   * returns whether the request may be answered with an ERROR. `answerEach`: every refused request
   * deserves an answer (it was within its rate); otherwise only the first of an episode.
   */
  hit(limit: LimitName, who: string, fields: LogFields, answerEach: boolean): boolean {
    countIn(this.deps.counts, limit);
    if (this.logEpisodes.hit(limit).first) {
      const note = `logged once per episode, for all clients (until ${EPISODE_QUIET_MS / 1000} s without a hit); pxecast_limited_total counts every hit`;
      this.deps.logger.warn('limit reached', { limit, client: who, ...fields, note });
    }
    if (!answerEach && !this.clientEpisodes.hit(`${limit}|${who}`).first) return false;
    return this.refusalErrors.take('*');
  }
}
