/** Waiting for what a test expects, failing with a message instead of hanging. */

import { once, type EventEmitter } from "node:events";

/** How long a test waits for a reply, an event or a rejection before it fails. */
export const WAIT_MS = 20_000;

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

/** The next `name` emitted by `emitter` whose arguments satisfy `match`. */
export function nextEmit<A extends unknown[]>(emitter: EventEmitter<any>, name: string, match: (...args: A) => boolean = () => true, ms = 20_000): Promise<A> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return within(
    new Promise<A>((resolve) => {
      const listener = (...args: A): void => {
        if (!match(...args)) return;
        (emitter as EventEmitter).off(name, listener as (...a: unknown[]) => void);
        resolve(args);
      };
      (emitter as EventEmitter).on(name, listener as (...a: unknown[]) => void);
    }),
    ms,
    `waiting for "${name}"`,
  );
}

/** `events.once` that fails after `ms` instead of waiting forever. */
export function onceWithin(emitter: EventEmitter<any>, name: string, ms = WAIT_MS): Promise<unknown[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return within(once(emitter as EventEmitter, name), ms, `waiting for "${name}"`);
}
