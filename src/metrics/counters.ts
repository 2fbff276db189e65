// Counters by label (outcome, reason, message type...) as the servers keep them and the metrics
// snapshot reads them: plain records, bumped through this one helper.
export type CountsBy = Record<string | number, number>;

export function countIn(counts: CountsBy, key: string | number, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
