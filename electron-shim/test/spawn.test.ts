/**
 * spawnSidecar's own contract: argv, where the secret goes, the ready line and its failures.
 * The happy path runs the real sidecar; the failures a real sidecar does not produce on demand
 * (no ready line, a garbage line, an early exit) use tiny node scripts standing in for python.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import { SidecarError } from "../src/errors";
import { SECRET_ENV, parseReadyLine, sidecarArgs, sidecarExecutable, spawnSidecar, stderrLevel } from "../src/spawn";
import { Supervisor } from "../src/supervisor";
import { REPO_ROOT, tempDir } from "./support/paths";
import { memoryLogger, pythonExecutable } from "./support/sidecar";
import { WAIT_MS, within } from "./support/wait";

/** A stand-in "python": node running `body` (argv and env available to it). */
function fakePython(body: string): { python: string; args: string[] } {
  const file = join(tempDir("fake-python"), "fake.js");
  writeFileSync(file, body);
  return { python: process.execPath, args: [file] };
}

async function rejection(p: Promise<unknown>): Promise<SidecarError> {
  try {
    await within(p, WAIT_MS, "the call's rejection");
  } catch (err) {
    assert.ok(err instanceof SidecarError, String(err));
    return err;
  }
  assert.fail("did not reject");
}

describe("spawnSidecar", () => {
  test("argv: python -m sidecar serve, --data-dir, --parent-pid, the secret on stdin by default, never the secret", () => {
    const args = sidecarArgs({ secret: "s3cret", dataDir: "/d", extraArgs: ["--import-root", "/x"] });
    assert.deepEqual(args, ["-m", "sidecar", "serve", "--data-dir", "/d", "--parent-pid", String(process.pid), "--secret-stdin", "--import-root", "/x"]);
    assert.ok(!sidecarArgs({ secret: "s", secretVia: "env" }).includes("--secret-stdin"));
    assert.ok(!args.join(" ").includes("s3cret"));
  });

  test("a frozen sidecar: `command` with args defaulting to serve; python and command together refused", () => {
    assert.deepEqual(sidecarArgs({ secret: "s", command: "/app/media-sidecar", dataDir: "/d" }), ["serve", "--data-dir", "/d", "--parent-pid", String(process.pid), "--secret-stdin"]);
    assert.deepEqual(sidecarArgs({ secret: "s", command: "/app/media-sidecar", args: ["serve", "--log-level", "debug"] }).slice(0, 3), ["serve", "--log-level", "debug"]);
    assert.equal(sidecarExecutable({ command: "/app/media-sidecar" }), "/app/media-sidecar");
    assert.equal(sidecarExecutable({ python: "/venv/bin/python" }), "/venv/bin/python");
    assert.equal(sidecarExecutable({}), "python");
    const both = (e: unknown) => e instanceof SidecarError && e.code === "start_failed" && /not both/.test(e.message);
    assert.throws(() => sidecarExecutable({ python: "python3", command: "/app/media-sidecar" }), both);
    assert.throws(() => new Supervisor({ python: "python3", command: "/app/media-sidecar" }), both);
  });

  test("the real sidecar: ready line parsed, stderr forwarded, secret neither in argv nor in /proc/<pid>/environ", async () => {
    const dir = tempDir("spawn");
    const logger = memoryLogger();
    const proc = await spawnSidecar({
      python: pythonExecutable(),
      cwd: REPO_ROOT,
      dataDir: join(dir, "data"),
      extraArgs: ["--runtime-dir", join(dir, "run")],
      secret: "secret-for-spawn-test",
      logger,
    });
    try {
      assert.equal(proc.ready.event, "ready");
      assert.equal(proc.ready.pid, proc.pid);
      assert.match(proc.ready.endpoint, /^(ipc|tcp):\/\//);
      assert.ok(!proc.child.spawnargs.join(" ").includes("secret-for-spawn-test"));
      if (process.platform === "linux") {
        // What another process of this user (or root) can read for the sidecar's whole life.
        const environ = readFileSync(`/proc/${proc.pid}/environ`);
        const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`);
        assert.ok(environ.length > 0, "the environment block was read");
        assert.ok(!environ.includes("secret-for-spawn-test"), "the secret is in /proc/<pid>/environ");
        assert.ok(!environ.includes(SECRET_ENV), `${SECRET_ENV} is in /proc/<pid>/environ`);
        assert.ok(!cmdline.includes("secret-for-spawn-test"));
      }
    } finally {
      proc.kill("SIGTERM");
      const exit = await proc.exited;
      assert.equal(exit.code, 0, "SIGTERM drains and exits 0");
    }
    assert.ok(logger.lines.some((l) => l.includes(`[sidecar ${proc.pid}]`) && l.includes("serving")));
  });

  test("secret by stdin (default) with the variable removed, or by environment when asked", async () => {
    const echo = fakePython(`
      let input = "";
      process.stdin.on("data", (d) => (input += d)).on("end", () => report());
      process.stdin.on("error", () => report());
      function report() {
        console.log(JSON.stringify({ event: "ready", endpoint: "tcp://127.0.0.1:1", pid: process.pid, protocol: "1.0.0",
          connectionFile: JSON.stringify({ env: process.env.${SECRET_ENV} ?? null, stdin: input, argv: process.argv.slice(2) }) }));
        setInterval(() => {}, 1000);
      }
      if (!process.argv.includes("--secret-stdin")) report();
    `);
    const viaEnv = await spawnSidecar({ ...echo, secret: "env-secret", secretVia: "env", env: { [SECRET_ENV]: "inherited" } });
    viaEnv.kill("SIGKILL");
    assert.deepEqual(JSON.parse(viaEnv.ready.connectionFile).env, "env-secret");
    const viaStdin = await spawnSidecar({ ...echo, secret: "stdin-secret", env: { [SECRET_ENV]: "inherited" } });
    viaStdin.kill("SIGKILL");
    const seen = JSON.parse(viaStdin.ready.connectionFile) as { env: string | null; stdin: string; argv: string[] };
    assert.equal(seen.env, null, "no secret in the environment");
    assert.equal(seen.stdin, "stdin-secret\n");
    assert.ok(seen.argv.includes("--secret-stdin"));
  });

  test("no ready line within the timeout: start_failed, and the process is killed", async () => {
    const pidFile = join(tempDir("pid"), "pid");
    const silent = fakePython(`require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`);
    const err = await rejection(spawnSidecar({ ...silent, secret: "s", readyTimeoutMs: 500 }));
    assert.equal(err.code, "start_failed");
    assert.match(err.message, /no ready line within 500 ms/);
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8"));
      assert.throws(() => process.kill(pid, 0), /ESRCH/, "the silent process was killed");
    }
  });

  test("an exit before the ready line: start_failed with the exit code and stderr", async () => {
    const dying = fakePython(`console.error("Traceback: boom"); process.exit(3);`);
    const err = await rejection(spawnSidecar({ ...dying, secret: "s" }));
    assert.equal(err.code, "start_failed");
    assert.match(err.message, /code 3/);
    assert.match(err.message, /boom/);
  });

  test("a first stdout line that is not the ready line: start_failed", async () => {
    const chatty = fakePython(`console.log("hello from print()"); setInterval(() => {}, 1000);`);
    const err = await rejection(spawnSidecar({ ...chatty, secret: "s" }));
    assert.equal(err.code, "start_failed");
    assert.match(err.message, /not JSON/);
  });

  test("an executable that does not exist: start_failed naming it", async () => {
    const err = await rejection(spawnSidecar({ python: "/nonexistent/python3", secret: "s" }));
    assert.equal(err.code, "start_failed");
    assert.match(err.message, /could not spawn \/nonexistent\/python3/);
  });

  test("parseReadyLine checks every field", () => {
    const ok = { event: "ready", endpoint: "ipc:///x", pid: 1, protocol: "1.0.0", connectionFile: "/x.json" };
    assert.deepEqual(parseReadyLine(JSON.stringify(ok)), ok);
    for (const bad of [{ ...ok, event: "started" }, { ...ok, pid: "1" }, { ...ok, endpoint: undefined }, null, [ok]]) {
      assert.throws(() => parseReadyLine(JSON.stringify(bad)), SidecarError);
    }
  });

  test("stderr lines are logged at their level", () => {
    assert.equal(stderrLevel(`{"level":"warning","msg":"x"}`), "warn");
    assert.equal(stderrLevel(`{"level":"error","msg":"x"}`), "error");
    assert.equal(stderrLevel(`{"level":"info","msg":"x"}`), "info");
    assert.equal(stderrLevel("Traceback (most recent call last):"), "error");
    assert.equal(stderrLevel("WARNING: something"), "warn");
    assert.equal(stderrLevel("plain text"), "info");
  });
});
