/**
 * The Supervisor's policies with a fake launcher (test/support/fake-launcher.ts) and node:test's
 * fake timers: restarts and giving up, the heartbeat, the ready gate, the stop escalation.
 * integration.test.ts runs the same Supervisor against real sidecar processes.
 */

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import { SidecarError } from "../src/errors";
import { type CrashInfo, Supervisor, type SupervisorOptions, type SupervisorState } from "../src/supervisor";
import { type Behaviour, FakeLauncher } from "./support/fake-launcher";

const T = { timeout: 20_000 };

/** Let promise chains run (setImmediate is not faked). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Move the fake clock by `ms`, in steps, letting the work each step starts run. */
async function advance(ms: number, step = 50): Promise<void> {
  await settle(); // timers the last steps are about to set are set at the current time
  for (let done = 0; done < ms; done += step) {
    mock.timers.tick(Math.min(step, ms - done));
    await settle();
  }
}

function supervised(behaviours: Behaviour[], options: SupervisorOptions = {}): { sup: Supervisor; launcher: FakeLauncher; states: SupervisorState[]; crashes: CrashInfo[] } {
  const launcher = new FakeLauncher(behaviours);
  const sup = new Supervisor({ python: "unused", heartbeat: false, restart: { maxCrashes: 3, initialDelayMs: 100, windowMs: 60_000 }, ...options, launcher });
  const states: SupervisorState[] = [];
  const crashes: CrashInfo[] = [];
  sup.on("state", (s) => states.push(s));
  sup.on("crash", (c) => crashes.push(c));
  return { sup, launcher, states, crashes };
}

async function refusal(p: Promise<unknown>): Promise<SidecarError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SidecarError, String(err));
    return err;
  }
  assert.fail("not refused");
}

describe("Supervisor with a fake launcher", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
  afterEach(() => mock.timers.reset());

  test("start spawns, connects with the start's secret, subscribes, and serves calls on that connection", T, async () => {
    const { sup, launcher, states } = supervised([{}]);
    const info = await sup.start();
    assert.equal(info.pid, launcher.last.pid);
    assert.equal(sup.state, "ready");
    assert.deepEqual(states, ["starting", "ready"]);
    const connection = launcher.connections[0]!;
    assert.equal(connection.options.secret, launcher.spawnOptions[0]!.secret, "spawn and connect share one secret");
    assert.deepEqual(await sup.getMediaItem({ id: "a" }), { method: "getMediaItem" });
    assert.deepEqual(connection.methods, ["subscribe", "getMediaItem"]);
    await sup.stop();
  });

  test("restart policy: a crash restarts after the backoff, doubled per crash; maxCrashes in the window → dead", T, async () => {
    const { sup, launcher, states, crashes } = supervised([{}]);
    await sup.start();
    launcher.last.exit({ code: 1, signal: null });
    await settle();
    assert.equal(sup.state, "restarting");
    assert.deepEqual(crashes.map((c) => [c.willRestart, c.delayMs, c.code]), [[true, 100, 1]]);
    await advance(50);
    assert.equal(launcher.processes.length, 1, "no restart before the backoff");
    await advance(50);
    assert.equal(launcher.processes.length, 2);
    assert.equal(sup.state, "ready");
    assert.notEqual(launcher.spawnOptions[1]!.secret, launcher.spawnOptions[0]!.secret, "a fresh secret per start");

    launcher.last.exit({ code: null, signal: "SIGSEGV" });
    await settle();
    assert.equal(crashes[1]?.delayMs, 200);
    await advance(200);
    assert.equal(sup.state, "ready");

    const dead: SidecarError[] = [];
    sup.on("dead", (e) => dead.push(e));
    launcher.last.exit({ code: 1, signal: null });
    await settle();
    assert.equal(sup.state, "dead");
    assert.equal(crashes.at(-1)?.willRestart, false);
    assert.equal(dead[0]?.code, "sidecar_dead");
    assert.equal((await refusal(sup.ping())).code, "sidecar_dead");
    await advance(10_000);
    assert.equal(launcher.processes.length, 3, "a dead library is not restarted by itself");
    assert.deepEqual(states.slice(-2), ["ready", "dead"], "the last crash goes straight to dead");

    await sup.start(); // an explicit start forgets the crashes
    assert.equal(sup.state, "ready");
    assert.equal(launcher.processes.length, 4);
    await sup.stop();
  });

  test("failed starts count as crashes: start() rejects sidecar_dead once the policy gives up", T, async () => {
    const { sup, launcher, crashes } = supervised([{ failSpawn: true }]);
    const started = refusal(sup.start());
    await advance(1_000);
    const err = await started;
    assert.equal(err.code, "sidecar_dead");
    assert.equal(launcher.spawnOptions.length, 3);
    assert.deepEqual(crashes.map((c) => c.willRestart), [true, true, false]);
    assert.match(crashes[0]!.reason, /no ready line/);
  });

  test("heartbeat: `misses` unanswered pings in a row → SIGKILL, reported as a crash, then a restart", T, async () => {
    const { sup, launcher, crashes } = supervised([{ hangPings: true }, {}], { heartbeat: { intervalMs: 1_000, timeoutMs: 500, misses: 3 } });
    await sup.start();
    const hung = launcher.last;
    // Two misses: still alive.
    await advance(2 * 1_500);
    assert.deepEqual(hung.signals, []);
    assert.equal(sup.state, "ready");
    await advance(1_500);
    assert.deepEqual(hung.signals, ["SIGKILL"]);
    assert.equal(crashes.length, 1);
    assert.match(crashes[0]!.reason, /stopped answering ping \(3 in a row\)/);
    assert.equal(crashes[0]!.signal, "SIGKILL");
    await advance(100);
    assert.equal(sup.state, "ready");
    assert.equal(launcher.processes.length, 2);
    // The new sidecar answers its pings: no more kills.
    await advance(5_000);
    assert.deepEqual(launcher.last.signals, []);
    assert.ok(launcher.connections[1]!.methods.filter((m) => m === "ping").length >= 3, "the heartbeat pings the new connection");
    await sup.stop();
  });

  test("ready gate: a call made while starting waits for ready, then runs on the new connection", T, async () => {
    const { sup, launcher } = supervised([{}]);
    let open!: () => void;
    launcher.connectGate = new Promise<void>((r) => (open = r));
    const started = sup.start();
    await settle();
    assert.equal(sup.state, "starting");
    const call = sup.getMediaItem({ id: "a" }, { timeoutMs: 5_000 });
    await advance(1_000);
    open();
    await started;
    assert.deepEqual(await call, { method: "getMediaItem" });
    await sup.stop();
  });

  test("ready gate: a waiting call rejects `timeout` after its own timeout, and `not_running` when the supervisor stops", T, async () => {
    const { sup, launcher } = supervised([{}]);
    launcher.connectGate = new Promise<void>(() => undefined); // never connects
    void sup.start().catch(() => undefined);
    await settle();
    const short = refusal(sup.getMediaItem({ id: "a" }, { timeoutMs: 300 }));
    const long = refusal(sup.getMediaItem({ id: "b" }, { timeoutMs: 60_000 }));
    await advance(300);
    const timedOut = await short;
    assert.deepEqual([timedOut.code, timedOut.method], ["timeout", "getMediaItem"]);
    const stopping = sup.stop();
    const stopped = await long;
    assert.deepEqual([stopped.code, stopped.method], ["not_running", "getMediaItem"]);
    await advance(20_000);
    await stopping;
  });

  test("ready gate: waiting calls reject sidecar_dead when the restarts give up", T, async () => {
    const { sup, launcher } = supervised([{}, { failSpawn: true }]);
    await sup.start();
    launcher.last.exit();
    await settle();
    const waiting = refusal(sup.ping({ timeoutMs: 60_000 }));
    await advance(1_000);
    const err = await waiting;
    assert.deepEqual([err.code, err.method], ["sidecar_dead", "ping"]);
    assert.equal(sup.state, "dead");
  });

  test("stop: a sidecar that exits on shutdown needs no signal", T, async () => {
    const { sup, launcher } = supervised([{}]);
    await sup.start();
    const result = await sup.stop();
    assert.equal(result.escalation, "shutdown");
    assert.deepEqual(result.exit, { code: 0, signal: null });
    assert.deepEqual(launcher.last.signals, []);
    assert.equal(sup.state, "stopped");
  });

  test("stop escalation: shutdown ignored → SIGTERM; SIGTERM ignored → SIGKILL, in that order, each after its wait", T, async () => {
    const waits = { drainTimeoutMs: 100, shutdownWaitMs: 1_000, termWaitMs: 2_000, killWaitMs: 3_000 };
    const term = supervised([{ ignoreShutdown: true }], { stop: waits });
    await term.sup.start();
    const termStop = term.sup.stop();
    await advance(900);
    assert.deepEqual(term.launcher.last.signals, [], "no signal within the shutdown wait");
    await advance(100);
    const termResult = await termStop;
    assert.deepEqual(term.launcher.last.signals, ["SIGTERM"]);
    assert.equal(termResult.escalation, "SIGTERM");

    const kill = supervised([{ ignoreShutdown: true, ignoreSigterm: true }], { stop: waits });
    await kill.sup.start();
    const killStop = kill.sup.stop();
    await advance(1_000);
    assert.deepEqual(kill.launcher.last.signals, ["SIGTERM"]);
    await advance(1_900);
    assert.deepEqual(kill.launcher.last.signals, ["SIGTERM"], "no SIGKILL within the SIGTERM wait");
    await advance(100);
    const killResult = await killStop;
    assert.deepEqual(kill.launcher.last.signals, ["SIGTERM", "SIGKILL"]);
    assert.deepEqual([killResult.escalation, killResult.exit?.signal], ["SIGKILL", "SIGKILL"]);
    assert.equal(kill.sup.state, "stopped");
  });

  test("a server error reaches the caller with its code, field and data", T, async () => {
    const serverError = new SidecarError("conflict", "nothing to retry", { field: "params.id", data: { itemId: "i1", status: "saved" }, method: "retrySaveItem" });
    const { sup } = supervised([{ answer: () => Promise.reject(serverError) }]);
    await sup.start();
    const err = await refusal(sup.retrySaveItem({ id: "i1" }));
    assert.deepEqual(err.toJSON(), { code: "conflict", message: "nothing to retry", field: "params.id", data: { itemId: "i1", status: "saved" } });
    await sup.stop();
  });
});
