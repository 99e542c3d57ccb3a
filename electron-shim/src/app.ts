/**
 * Tie the sidecar's life to the app's: on `will-quit` the quit is held back
 * (`event.preventDefault()`) until the supervisor has stopped the sidecar in order, then the
 * app quits again. `will-quit` comes after every window closed, so no renderer call is cut.
 */

import type { App } from "electron";

import { type Logger, silentLogger } from "./logger";

export interface Stoppable {
  stop(): Promise<unknown>;
}

type AppLike = Pick<App, "quit"> & {
  on(event: "will-quit", listener: (event: Electron.Event) => void): unknown;
  removeListener(event: "will-quit", listener: (event: Electron.Event) => void): unknown;
};

/** Stop `supervisor` before the app quits; returns a function that detaches. */
export function attachToApp(app: AppLike, supervisor: Stoppable, options: { logger?: Logger } = {}): () => void {
  const log = options.logger ?? silentLogger;
  let phase: "running" | "stopping" | "stopped" = "running";
  const onWillQuit = (event: Electron.Event): void => {
    if (phase === "stopped") return; // the second will-quit, after stop(): let it go
    event.preventDefault();
    if (phase === "stopping") return;
    phase = "stopping";
    supervisor
      .stop()
      .catch((err: unknown) => log.error(`media-sidecar: stopping the sidecar failed: ${String(err)}`))
      .finally(() => {
        phase = "stopped";
        app.quit();
      });
  };
  app.on("will-quit", onWillQuit);
  return () => app.removeListener("will-quit", onWillQuit);
}
