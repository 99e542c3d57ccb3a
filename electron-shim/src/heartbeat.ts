/**
 * Liveness of one connection: a ping every `intervalMs`; `misses` pings in a row without a
 * reply (within `timeoutMs` each) and the owner is told the sidecar is hung. Pings are sent one
 * at a time (the next is scheduled when the last one settled), so a slow sidecar is never
 * sent a queue of them.
 */

import type { Logger } from "./logger";

export interface HeartbeatOptions {
  /** Between the end of one ping and the next (default 15 000 ms). */
  intervalMs?: number;
  /** A ping unanswered for this long is a miss (default 10 000 ms). */
  timeoutMs?: number;
  /** This many misses in a row and the sidecar is hung (default 3). */
  misses?: number;
}

export interface HeartbeatTarget {
  ping(timeoutMs: number): Promise<unknown>;
  /** False once the connection is gone or replaced: its failed pings then count for nothing. */
  alive(): boolean;
  /** `misses` pings in a row went unanswered; the heartbeat has stopped. */
  hung(missed: number): void;
  log: Logger;
}

export interface Heartbeat {
  stop(): void;
}

export function startHeartbeat(target: HeartbeatTarget, options: HeartbeatOptions = {}): Heartbeat {
  const intervalMs = options.intervalMs ?? 15_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const misses = options.misses ?? 3;
  let missed = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const schedule = (): void => {
    if (stopped || !target.alive()) return;
    timer = setTimeout(() => void beat(), intervalMs);
    timer.unref();
  };
  const beat = async (): Promise<void> => {
    timer = null;
    try {
      await target.ping(timeoutMs);
      missed = 0;
    } catch (err) {
      if (stopped || !target.alive()) return;
      missed++;
      target.log.warn(`media-sidecar supervisor: heartbeat missed (${missed}/${misses}): ${String(err)}`);
      if (missed >= misses) {
        stopped = true;
        target.hung(missed);
        return;
      }
    }
    schedule();
  };

  schedule();
  return {
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
