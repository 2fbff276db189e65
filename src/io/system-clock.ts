import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from './ports.js';

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  // setImmediate runs in the check phase, after the poll phase has read the sockets.
  defer: (fn) => void setImmediate(fn),
};
