/**
 * Ending one sidecar process in order: ask it (`shutdown`, which drains its work), wait; then
 * SIGTERM, wait; then SIGKILL, wait. Each step only when the one before did not end it.
 */

import type { LaunchedSidecar } from "./launcher";
import type { Logger } from "./logger";

export type Escalation = "shutdown" | "SIGTERM" | "SIGKILL";

export interface StopWaits {
  /** After the shutdown request was answered: how long the process may take to exit. */
  shutdownWaitMs: number;
  termWaitMs: number;
  killWaitMs: number;
}

type Process = Pick<LaunchedSidecar, "pid" | "exitInfo" | "exited" | "kill">;

/**
 * Stop `proc`; `requestShutdown` (null: no connection to ask through) sends the shutdown
 * request. Returns the last step taken.
 */
export async function escalateStop(proc: Process, requestShutdown: (() => Promise<unknown>) | null, waits: StopWaits, log: Logger): Promise<Escalation> {
  if (requestShutdown) {
    try {
      await requestShutdown();
      if (await waitExit(proc, waits.shutdownWaitMs)) return "shutdown";
    } catch (err) {
      log.warn(`media-sidecar supervisor: shutdown request failed: ${String(err)}`);
    }
  }
  log.warn(`media-sidecar supervisor: sidecar ${proc.pid} still running; SIGTERM`);
  proc.kill("SIGTERM");
  if (await waitExit(proc, waits.termWaitMs)) return "SIGTERM";
  log.warn(`media-sidecar supervisor: sidecar ${proc.pid} ignored SIGTERM; SIGKILL`);
  proc.kill("SIGKILL");
  await waitExit(proc, waits.killWaitMs);
  return "SIGKILL";
}

/** True once `proc` exited, false when `ms` passed first. */
export async function waitExit(proc: Pick<Process, "exitInfo" | "exited">, ms: number): Promise<boolean> {
  if (proc.exitInfo !== null) return true;
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    proc.exited.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return result;
}
