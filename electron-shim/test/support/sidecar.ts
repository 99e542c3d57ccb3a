/**
 * The real Python sidecar for the integration tests: the repository's venv, a fresh data dir
 * and runtime dir per supervisor, test hooks on, and every message on the wire validated
 * against protocol/schema/ (wire-check.ts; the test file asserts no violations). A missing
 * Python is a failure, never a skip (`make install` creates .venv; or set MEDIA_SIDECAR_PYTHON).
 */

import { accessSync, constants } from "node:fs";
import { join } from "node:path";

import type { Logger } from "../../src/logger";
import { Supervisor, type SupervisorOptions } from "../../src/supervisor";
import { REPO_ROOT, tempDir } from "./paths";
import { wireCheck } from "./wire-check";

export function pythonExecutable(): string {
  const python = process.env["MEDIA_SIDECAR_PYTHON"] ?? join(REPO_ROOT, ".venv", "bin", "python");
  try {
    accessSync(python, constants.X_OK);
  } catch {
    throw new Error(`no Python for the sidecar at ${python}: run \`make install\` at the repository root or set MEDIA_SIDECAR_PYTHON`);
  }
  return python;
}

/** A logger that keeps the lines (shown when a test fails) and stays quiet otherwise. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (m: string, ...rest: unknown[]) => void lines.push(`${level} ${m}${rest.length ? ` ${rest.map(String).join(" ")}` : ""}`);
  return { lines, debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") };
}

export function sidecarSupervisor(options: Partial<SupervisorOptions> = {}): { supervisor: Supervisor; dataDir: string; logger: ReturnType<typeof memoryLogger> } {
  const dir = tempDir("sidecar");
  const dataDir = join(dir, "data");
  const logger = memoryLogger();
  const supervisor = new Supervisor({
    python: pythonExecutable(),
    cwd: REPO_ROOT,
    dataDir,
    logger,
    heartbeat: false,
    restart: { initialDelayMs: 50, maxDelayMs: 200 },
    stop: { drainTimeoutMs: 2_000, shutdownWaitMs: 5_000, termWaitMs: 5_000 },
    onMessage: wireCheck().observe,
    ...options,
    extraArgs: ["--runtime-dir", join(dir, "run"), "--enable-test-hooks", ...(options.extraArgs ?? [])],
  });
  return { supervisor, dataDir, logger };
}
