/**
 * Calls that arrive while the sidecar is (re)starting wait here: each within its own timeout,
 * all released with the new connection once it is ready, or all rejected when the supervisor
 * gives up or stops.
 */

import { SidecarError, toSidecarError } from "./errors";

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: SidecarError) => void;
}

export class ReadyGate<T> {
  private waiters = new Set<Waiter<T>>();

  /** How many calls are waiting. */
  get size(): number {
    return this.waiters.size;
  }

  /**
   * Wait for `open()`; rejects with `timeout` after `timeoutMs` (none when not finite), or with
   * the error of `fail()`, tagged with `method`.
   */
  wait(timeoutMs: number, method: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter<T> = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(toSidecarError(err, "not_running", method));
        },
      };
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new SidecarError("timeout", `${method}: the sidecar was not ready within ${timeoutMs} ms`, { method }));
        }, timeoutMs);
      }
      this.waiters.add(waiter);
    });
  }

  /** Release every waiting call with `value`. */
  open(value: T): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.resolve(value);
  }

  /** Reject every waiting call with `err`. */
  fail(err: SidecarError): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.reject(err);
  }
}
