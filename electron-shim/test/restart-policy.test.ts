import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { RestartPolicy } from "../src/restart-policy";

describe("RestartPolicy", () => {
  test("restarts four crashes with a doubling delay and gives up at the fifth within 180 s", () => {
    let now = 0;
    const policy = new RestartPolicy({ now: () => now, initialDelayMs: 100 });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = policy.recordCrash();
      assert.equal(d.restart, true);
      if (d.restart) delays.push(d.delayMs);
      now += 30_000;
    }
    assert.deepEqual(delays, [100, 200, 400, 800]);
    assert.deepEqual(policy.recordCrash(), { restart: false, crashesInWindow: 5 });
  });

  test("crashes older than the window are forgotten", () => {
    let now = 0;
    const policy = new RestartPolicy({ now: () => now });
    for (let i = 0; i < 4; i++) policy.recordCrash();
    now += 180_000;
    const d = policy.recordCrash();
    assert.equal(d.restart, true);
    assert.equal(d.crashesInWindow, 1);
  });

  test("the delay is capped", () => {
    const policy = new RestartPolicy({ maxCrashes: 100, initialDelayMs: 1000, maxDelayMs: 5000, now: () => 0 });
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const d = policy.recordCrash();
      if (d.restart) last = d.delayMs;
    }
    assert.equal(last, 5000);
  });

  test("reset forgets every crash", () => {
    const policy = new RestartPolicy({ now: () => 0 });
    for (let i = 0; i < 4; i++) policy.recordCrash();
    policy.reset();
    assert.equal(policy.recordCrash().crashesInWindow, 1);
  });
});
