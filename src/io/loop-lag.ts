// Event-loop delay, one of the resource conditions the multicast QoS policy reads: the p99 of the
// last second, sampled by perf_hooks' histogram (cheap, and off the hot path).
import { monitorEventLoopDelay } from 'node:perf_hooks';

export function startLoopLagSampler(periodMs = 1000): { lagMs: () => number; stop: () => void } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let last = 0;
  const timer = setInterval(() => {
    last = histogram.percentile(99) / 1e6;
    histogram.reset();
  }, periodMs);
  timer.unref();
  return {
    lagMs: () => last,
    stop: () => {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
