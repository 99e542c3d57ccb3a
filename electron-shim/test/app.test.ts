import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";

import { attachToApp } from "../src/app";

/** Electron's quit dance: will-quit is emitted; preventDefault() holds the quit back. */
class FakeApp extends EventEmitter {
  quits = 0;
  exited = false;
  quit(): void {
    this.quits++;
    let prevented = false;
    this.emit("will-quit", { preventDefault: () => (prevented = true) });
    if (!prevented) this.exited = true;
  }
}

describe("attachToApp", () => {
  test("holds the quit until the sidecar has stopped, then quits once more", async () => {
    const app = new FakeApp();
    let release!: () => void;
    let stops = 0;
    const supervisor = { stop: () => (stops++, new Promise<void>((r) => (release = r))) };
    attachToApp(app, supervisor);
    app.quit();
    assert.equal(app.exited, false, "quit held while stopping");
    app.quit(); // a second quit while stopping does not stop twice
    assert.equal(stops, 1);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(app.exited, true);
  });

  test("quits even if stopping fails", async () => {
    const app = new FakeApp();
    const errors: string[] = [];
    attachToApp(app, { stop: () => Promise.reject(new Error("boom")) }, { logger: { debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) } });
    app.quit();
    await new Promise((r) => setImmediate(r));
    assert.equal(app.exited, true);
    assert.match(errors[0] ?? "", /boom/);
  });

  test("detach removes the listener", () => {
    const app = new FakeApp();
    const detach = attachToApp(app, { stop: () => assert.fail("not attached") });
    detach();
    app.quit();
    assert.equal(app.exited, true);
  });
});
