// Node only: paces dawn.node's event polling so that waiting for the GPU does not spin a CPU core.
//
// While any of its promises is pending (mapAsync, onSubmittedWorkDone, createComputePipelineAsync), dawn.node's
// AsyncRunner calls the global `setImmediate` with a fresh native callback that processes Dawn's events and, if work
// is still pending, schedules itself again: a busy loop of ~40,000 ticks a second for as long as the GPU works. On a
// CPU adapter (lavapipe) the GPU *is* the CPU, so that loop takes a core's share from the driver's threads, and each
// tick's new function object feeds the garbage collector: profiled over `dlc-gpu evaluate` (181 s), the main thread
// spent 64 s in those immediates and 36 s in garbage collection while it only waited (bench/NOTES.md "full-frame").
//
// The pacing: a run of Dawn ticks keeps setImmediate's speed for its first SPIN_MS (a short wait, e.g. a small
// readback, answers as fast as before), then polls by setTimeout, the event loop sleeping in between: every
// millisecond, slowing to every 8 ms as the wait grows (a 2 s forward pass made ~2,000 ticks of ~30 µs at 1 ms).
// A wait ends at most ~2% (at least 1 ms) later than it would have.
//
// Dawn's callbacks are recognised as what N-API makes them: anonymous native functions. JavaScript callbacks, and
// the named native or bound functions other code might pass, go to setImmediate untouched.

/** How long a run of back-to-back Dawn ticks polls at setImmediate's rate before pacing. */
export const SPIN_MS = 1;

/** Milliseconds to the next tick of a wait that has lasted `elapsed` ms: 1, then 1/50 of the wait, at most 8. */
export function pollDelay(elapsed: number): number {
  return Math.min(8, Math.max(1, Math.floor(elapsed / 50)));
}

const INSTALLED = Symbol.for('dlc-gpu.dawnPolling');

function isDawnTick(fn: unknown): fn is () => void {
  return typeof fn === 'function' && fn.name === '' && fn.length === 0 && Function.prototype.toString.call(fn).includes('[native code]');
}

/** Installs the pacing once per process (a second call does nothing). */
export function paceDawnPolling(): void {
  const g = globalThis as typeof globalThis & { [INSTALLED]?: true };
  if (g[INSTALLED]) return;
  g[INSTALLED] = true;
  const immediate = globalThis.setImmediate;
  // A tick scheduled from inside a Dawn tick continues that tick's run (the wait is not over).
  let inTick = false;
  let runStart = 0;
  const paced = function setImmediate(callback: unknown, ...args: unknown[]) {
    if (!isDawnTick(callback)) return (immediate as (cb: unknown, ...a: unknown[]) => NodeJS.Immediate)(callback, ...args);
    const now = performance.now();
    if (!inTick) runStart = now;
    const tick = () => {
      inTick = true;
      try {
        callback();
      } finally {
        inTick = false;
      }
    };
    // Dawn never clears these, so handing back a Timeout instead of an Immediate is safe.
    const elapsed = now - runStart;
    if (elapsed < SPIN_MS) return immediate(tick);
    return setTimeout(tick, pollDelay(elapsed)) as unknown as NodeJS.Immediate;
  };
  globalThis.setImmediate = Object.assign(paced, { __promisify__: immediate.__promisify__ }) as typeof globalThis.setImmediate;
}
