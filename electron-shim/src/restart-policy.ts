/**
 * When to restart a crashed sidecar, and when to give up: LSP's rule, "no restart after 5
 * crashes in 180 s", with an exponential backoff between restarts. Pure: the clock is injected.
 */

export interface RestartPolicyOptions {
  /** Give up at this many crashes within `windowMs` (default 5). */
  maxCrashes?: number;
  /** The sliding window of that count (default 180 000 ms). */
  windowMs?: number;
  /** Delay before the first restart (default 250 ms), doubled per crash in the window. */
  initialDelayMs?: number;
  /** Cap of the delay (default 10 000 ms). */
  maxDelayMs?: number;
  now?: () => number;
}

export type RestartDecision =
  | { restart: true; delayMs: number; crashesInWindow: number }
  | { restart: false; crashesInWindow: number };

export class RestartPolicy {
  private readonly maxCrashes: number;
  private readonly windowMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  private crashes: number[] = [];

  constructor(options: RestartPolicyOptions = {}) {
    this.maxCrashes = options.maxCrashes ?? 5;
    this.windowMs = options.windowMs ?? 180_000;
    this.initialDelayMs = options.initialDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.now = options.now ?? Date.now;
    if (!(this.maxCrashes >= 1)) throw new RangeError("maxCrashes must be >= 1");
  }

  /** Record a crash (or a failed start) and decide. */
  recordCrash(): RestartDecision {
    const now = this.now();
    this.crashes = this.crashes.filter((t) => now - t < this.windowMs);
    this.crashes.push(now);
    const n = this.crashes.length;
    if (n >= this.maxCrashes) return { restart: false, crashesInWindow: n };
    const delayMs = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** (n - 1));
    return { restart: true, delayMs, crashesInWindow: n };
  }

  /** Forget past crashes (an explicit start by the app). */
  reset(): void {
    this.crashes = [];
  }
}
