// Turns a stream of limit hits into episodes, so an abusive client costs one log line and at most
// one ERROR per episode instead of one per packet. An episode of a key starts with its first hit
// and lasts while hits keep coming less than `quietMs` apart. Bounded like KeyedRateLimiter:
// least-recently-hit order, keys quiet for `quietMs` forgotten, at most `maxKeys` kept.

interface Episode {
  startedAt: number;
  lastHitAt: number;
  hits: number;
}

export interface Hit {
  /** True for the first hit of an episode: log it (and answer it). */
  readonly first: boolean;
  /** Hits so far in this episode, this one included. */
  readonly hits: number;
}

export class LimitEpisodes {
  private readonly episodes = new Map<string, Episode>();

  constructor(
    /** Milliseconds on any monotonic scale (Clock.now, or the DHCP wall clock). */
    private readonly now: () => number,
    private readonly quietMs: number,
    private readonly maxKeys = 65_536,
  ) {}

  hit(key: string): Hit {
    const now = this.now();
    let episode = this.episodes.get(key);
    this.episodes.delete(key);
    const first = episode === undefined || now - episode.lastHitAt >= this.quietMs;
    if (first || !episode) episode = { startedAt: now, lastHitAt: now, hits: 0 };
    episode.lastHitAt = now;
    episode.hits++;
    this.episodes.set(key, episode);
    for (let i = 0; i < 2; i++) {
      const oldest = this.episodes.entries().next();
      if (oldest.done) break;
      if (now - oldest.value[1].lastHitAt < this.quietMs && this.episodes.size <= this.maxKeys) break;
      this.episodes.delete(oldest.value[0]);
    }
    return { first, hits: episode.hits };
  }

  get trackedKeys(): number {
    return this.episodes.size;
  }
}
