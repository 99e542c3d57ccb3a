import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";

import { attachToApp } from "../src/app";
import { sidecarSupervisor } from "./support/sidecar";
import { within } from "./support/wait";

const T = { timeout: 60_000 };

/**
 * Electron's quit sequence at the seam we cannot run (no Electron binary here), as its docs
 * state it: `quit()` emits `before-quit`, closes the windows, then emits `will-quit`; either
 * `preventDefault()` cancels the quit. `exit(code)` ends at once and emits neither event.
 */
class FakeApp extends EventEmitter {
  exitCode: number | null = null;
  beforeQuitRuns = 0;
  willQuitRuns = 0;
  constructor() {
    super();
    // The app's own handlers (what QCut registers to save state): each must run once.
    this.on("before-quit", () => this.beforeQuitRuns++);
    this.on("will-quit", () => this.willQuitRuns++);
  }
  quit(): void {
    if (this.exitCode !== null) return;
    let prevented = false;
    const event = { preventDefault: () => (prevented = true) };
    this.emit("before-quit", event);
    if (prevented) return;
    this.emit("will-quit", event);
    if (!prevented) this.exitCode = 0;
  }
  exit(code = 0): void {
    this.exitCode = code;
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("attachToApp", () => {
  test("holds the quit until the sidecar stopped, then exits: the app's quit handlers ran once", T, async () => {
    const app = new FakeApp();
    let release!: () => void;
    let stops = 0;
    const supervisor = { stop: () => (stops++, new Promise<void>((r) => (release = r))) };
    attachToApp(app, supervisor);
    app.quit();
    assert.equal(app.exitCode, null, "quit held while stopping");
    app.quit(); // a second quit (Cmd+Q again) while stopping does not stop twice
    assert.equal(stops, 1);
    release();
    await settle();
    assert.equal(app.exitCode, 0);
    // Only the user's two quits ran the handlers; the exit after the stop ran none.
    assert.equal(app.beforeQuitRuns, 2);
    assert.equal(app.willQuitRuns, 2);
  });

  test("one quit runs before-quit and will-quit exactly once, with a real sidecar stopped in between", T, async () => {
    const { supervisor } = sidecarSupervisor();
    const ready = await within(supervisor.start(), 30_000, "sidecar start");
    const app = new FakeApp();
    let stateAtExit: string | null = null;
    const realExit = app.exit.bind(app);
    app.exit = (code?: number): void => {
      stateAtExit = supervisor.state;
      realExit(code);
    };
    attachToApp(app, supervisor);
    app.quit();
    await within(
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (app.exitCode !== null) {
            clearInterval(poll);
            resolve();
          }
        }, 20);
      }),
      30_000,
      "the app's exit",
    );
    assert.equal(stateAtExit, "stopped", "the sidecar stopped before the app exited");
    assert.equal(app.beforeQuitRuns, 1);
    assert.equal(app.willQuitRuns, 1);
    assert.throws(() => process.kill(ready.pid, 0), "the sidecar process is gone");
  });

  test("exits even if stopping fails, with the configured code", T, async () => {
    const app = new FakeApp();
    const errors: string[] = [];
    attachToApp(app, { stop: () => Promise.reject(new Error("boom")) }, { exitCode: 3, logger: { debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) } });
    app.quit();
    await settle();
    assert.equal(app.exitCode, 3);
    assert.match(errors[0] ?? "", /boom/);
    assert.equal(app.beforeQuitRuns, 1);
  });

  test("detach removes the listener", T, () => {
    const app = new FakeApp();
    const detach = attachToApp(app, { stop: () => assert.fail("not attached") });
    detach();
    app.quit();
    assert.equal(app.exitCode, 0);
  });
});
