/**
 * Tie the sidecar's life to the app's: on `will-quit` the quit is held back
 * (`event.preventDefault()`) until the supervisor has stopped the sidecar in order, then the
 * app exits with `app.exit()`. `will-quit` comes after every window closed, so no renderer call
 * is cut.
 *
 * Why `app.exit()` and not a second `app.quit()`: `quit()` starts the whole sequence again, so
 * the app's own `before-quit` handlers (and every `will-quit` handler) would run twice.
 * Electron's `app.exit()` ends the process without emitting `before-quit` or `will-quit` again
 * (both already ran once, for the quit we held back); windows are already closed by then.
 */

import type { App } from "electron";

import { type Logger, silentLogger } from "./logger";

export interface Stoppable {
  stop(): Promise<unknown>;
}

type AppLike = Pick<App, "exit"> & {
  on(event: "will-quit", listener: (event: Electron.Event) => void): unknown;
  removeListener(event: "will-quit", listener: (event: Electron.Event) => void): unknown;
};

export interface AttachOptions {
  logger?: Logger;
  /** The exit code passed to `app.exit()` once the sidecar stopped (default 0). */
  exitCode?: number;
}

/** Stop `supervisor` before the app quits; returns a function that detaches. */
export function attachToApp(app: AppLike, supervisor: Stoppable, options: AttachOptions = {}): () => void {
  const log = options.logger ?? silentLogger;
  let phase: "running" | "stopping" | "stopped" = "running";
  const onWillQuit = (event: Electron.Event): void => {
    if (phase === "stopped") return; // exiting already
    event.preventDefault();
    if (phase === "stopping") return; // another quit while we stop: the same exit follows
    phase = "stopping";
    supervisor
      .stop()
      .catch((err: unknown) => log.error(`media-sidecar: stopping the sidecar failed: ${String(err)}`))
      .finally(() => {
        phase = "stopped";
        app.exit(options.exitCode ?? 0);
      });
  };
  app.on("will-quit", onWillQuit);
  return () => app.removeListener("will-quit", onWillQuit);
}
