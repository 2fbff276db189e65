// Pacing for the fuzz senders, AIMD as TCP does it: start at half the ceiling, climb by 2.5% of it
// every 200 ms while the daemon's socket keeps up, halve whenever the kernel dropped datagrams for
// it (floor: 5% of the ceiling). The fuzz measures the daemon, not the kernel's drop path.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends until `remaining()` is 0 or `maxSeconds` have passed (both bounds always hold).
 * - `ceiling`: datagrams per second at most;
 * - `drops()`: the kernel's running count of datagrams dropped for the daemon;
 * - `sendBurst(n)`: sends n datagrams (may return a promise: awaited before the next slice);
 * - `sliceMs`: the pause between bursts, in which replies are drained;
 * - `onSecond(seconds, rate)`: called about once a second, for progress lines.
 * Returns the seconds spent sending.
 */
export async function sendPaced({ ceiling, maxSeconds, drops, remaining, sendBurst, sliceMs, onSecond = () => {} }) {
  const started = performance.now();
  const elapsedS = () => (performance.now() - started) / 1000;
  let rate = ceiling / 2;
  let credit = 0;
  let lastTick = elapsedS();
  let nextAdjust = 0.2;
  let dropped = drops();
  let nextSecond = 1;
  while (remaining() > 0 && elapsedS() < maxSeconds) {
    const now = elapsedS();
    credit = Math.min(credit + rate * (now - lastTick), rate / 10); // at most 100 ms of backlog
    lastTick = now;
    const burst = Math.min(Math.floor(credit), remaining());
    credit -= burst;
    if (burst > 0) await sendBurst(burst);
    if (now >= nextAdjust) {
      const total = drops();
      rate = total > dropped ? Math.max(ceiling / 20, rate / 2) : Math.min(ceiling, rate + ceiling / 40);
      dropped = total;
      nextAdjust = now + 0.2;
    }
    if (now >= nextSecond) {
      onSecond(now, Math.round(rate));
      nextSecond = Math.floor(now) + 1;
    }
    await sleep(sliceMs);
  }
  return elapsedS();
}
