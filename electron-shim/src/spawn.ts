/**
 * Spawning one sidecar process: the command line, the secret (stdin by default, or the
 * environment; never argv), the single JSON ready line on stdout (with a timeout), stderr
 * forwarded to a logger.
 *
 * Why stdin by default: a variable given by environment stays in the child's initial
 * environment block, which `/proc/<pid>/environ` shows (to the same user and root) for the
 * whole life of the process, even after the sidecar removed it from its own `os.environ`.
 * A line read from a pipe leaves no such copy.
 *
 * It owns one process and nothing else: no restarts (restart-policy.ts, supervisor.ts) and
 * no socket (client.ts).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

import { SidecarError } from "./errors";
import type { ReadyLine } from "./generated/protocol";
import { type Logger, silentLogger } from "./logger";

export const SECRET_ENV = "MEDIA_SIDECAR_SECRET";

/**
 * How the sidecar is started: either a Python interpreter that has the `media-sidecar`
 * package (`python` + `args`, for development), or the self-contained build of `make dist`
 * (`command`, for a packaged app: no Python needed). Give one of `python` and `command`.
 */
export interface SpawnOptions {
  /** The Python executable (default `python`; a venv's `bin/python` in practice). */
  python?: string;
  /**
   * The frozen sidecar binary (`dist/media-sidecar/media-sidecar`, shipped in the app's
   * resources). Its arguments default to `["serve"]`.
   */
  command?: string;
  /** Arguments before the shim's own (default `["-m", "sidecar", "serve"]`, or `["serve"]` with `command`). */
  args?: readonly string[];
  /** The library directory (`--data-dir`); the platform default when absent. */
  dataDir?: string;
  /** More arguments, appended last (e.g. `["--import-root", dir]`). */
  extraArgs?: readonly string[];
  /** Added to (and overriding) the inherited environment. */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** The shared secret (the HMAC key is its UTF-8 bytes). */
  secret: string;
  /**
   * How the secret travels: the first line of stdin (default) or the environment
   * (`MEDIA_SIDECAR_SECRET`, then visible in `/proc/<pid>/environ` for the process's life).
   */
  secretVia?: "env" | "stdin";
  /** The pid the sidecar watches and exits with (default: this process). */
  parentPid?: number;
  /** How long to wait for the ready line (default 20 000 ms). */
  readyTimeoutMs?: number;
  logger?: Logger;
}

/** The ready line (docs/PROTOCOL.md "Transport"), generated from `protocol/connection.py`. */
export type { ReadyLine };

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SidecarProcess {
  readonly pid: number;
  readonly ready: ReadyLine;
  readonly child: ChildProcess;
  /** Settles once the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Null while running. */
  readonly exitInfo: ExitInfo | null;
  /** The last stderr lines (for error messages). */
  stderrTail(): string[];
  kill(signal?: NodeJS.Signals): boolean;
}

const STDERR_TAIL = 40;

/** The executable to spawn: `command`, else `python` (default `python`). */
export function sidecarExecutable(options: Pick<SpawnOptions, "python" | "command">): string {
  if (options.command !== undefined && options.python !== undefined) {
    throw new SidecarError("start_failed", "give either `python` (with `args`) or `command` (a frozen sidecar), not both");
  }
  return options.command ?? options.python ?? "python";
}

/** The full argv after the executable. */
export function sidecarArgs(options: SpawnOptions): string[] {
  const args = [...(options.args ?? (options.command !== undefined ? ["serve"] : ["-m", "sidecar", "serve"]))];
  if (options.dataDir !== undefined) args.push("--data-dir", options.dataDir);
  args.push("--parent-pid", String(options.parentPid ?? process.pid));
  if (options.secretVia !== "env") args.push("--secret-stdin");
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** Spawn the sidecar and wait for its ready line; rejects with `start_failed`. */
export async function spawnSidecar(options: SpawnOptions): Promise<SidecarProcess> {
  const log = options.logger ?? silentLogger;
  const viaStdin = options.secretVia !== "env";
  const env: Record<string, string | undefined> = { ...process.env, ...options.env, PYTHONUNBUFFERED: "1" };
  if (viaStdin) delete env[SECRET_ENV];
  else env[SECRET_ENV] = options.secret;

  const executable = sidecarExecutable(options);
  const args = sidecarArgs(options);
  const child = spawn(executable, args, {
    cwd: options.cwd,
    env,
    stdio: [viaStdin ? "pipe" : "ignore", "pipe", "pipe"],
    windowsHide: true,
  });

  let exitInfo: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  // A persistent listener: an 'error' without one (e.g. a failed kill later) would throw.
  const spawnError = new Promise<Error>((resolve) =>
    child.on("error", (err) => {
      log.warn(`[sidecar ${child.pid ?? "?"}] process error: ${err.message}`);
      resolve(err);
    }),
  );
  const stdioClosed = new Promise<void>((resolve) => child.once("close", () => resolve()));

  const tail: string[] = [];
  const tag = () => `[sidecar ${child.pid ?? "?"}]`;
  createInterface({ input: child.stderr! }).on("line", (line) => {
    tail.push(line);
    if (tail.length > STDERR_TAIL) tail.shift();
    log[stderrLevel(line)](`${tag()} ${line}`);
  });

  if (viaStdin) {
    child.stdin!.on("error", () => undefined); // EPIPE if it died first; the exit says why
    child.stdin!.end(`${options.secret}\n`);
  }

  const lines = createInterface({ input: child.stdout! });
  const firstLine = once(lines, "line").then(([line]) => line as string);
  firstLine.catch(() => undefined); // a stdout error after the race is decided must not go unhandled
  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));

  const failed = (message: string, cause?: unknown): SidecarError => {
    const stderr = tail.slice(-10).join("\n");
    return new SidecarError("start_failed", stderr ? `${message}\n${stderr}` : message, { cause });
  };

  let ready: ReadyLine;
  try {
    const first = await Promise.race([
      firstLine.then((line) => ({ kind: "line" as const, line })),
      exited.then((info) => ({ kind: "exit" as const, info })),
      spawnError.then((error) => ({ kind: "error" as const, error })),
      timedOut.then(() => ({ kind: "timeout" as const })),
    ]);
    switch (first.kind) {
      case "error":
        throw failed(`could not spawn ${executable}: ${first.error.message}`, first.error);
      case "exit":
        // Let the last stderr lines arrive before quoting them (stdio closes after the exit).
        await Promise.race([stdioClosed, new Promise((r) => setTimeout(r, 1_000))]);
        throw failed(`the sidecar exited before its ready line (code ${first.info.code}, signal ${first.info.signal})`);
      case "timeout":
        throw failed(`no ready line within ${timeoutMs} ms`);
      case "line":
        ready = parseReadyLine(first.line);
    }
  } catch (err) {
    if (exitInfo === null) child.kill("SIGKILL");
    await Promise.race([exited, spawnError]);
    throw err instanceof SidecarError ? err : failed(String(err), err);
  } finally {
    clearTimeout(timer);
  }

  // The ready line is the only thing the sidecar should print on stdout.
  lines.on("line", (line) => log.warn(`${tag()} unexpected stdout: ${line}`));
  log.info(`${tag()} ready at ${ready.endpoint} (protocol ${ready.protocol})`);

  return {
    pid: child.pid!,
    ready,
    child,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    stderrTail: () => [...tail],
    kill: (signal: NodeJS.Signals = "SIGTERM") => (exitInfo === null ? child.kill(signal) : false),
  };
}

/** Parse and check the ready line; throws `start_failed` on anything else. */
export function parseReadyLine(line: string): ReadyLine {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    throw new SidecarError("start_failed", `the first stdout line is not JSON: ${line.slice(0, 200)}`);
  }
  const r = obj as Partial<ReadyLine> | null;
  if (
    r === null ||
    typeof r !== "object" ||
    r.event !== "ready" ||
    typeof r.endpoint !== "string" ||
    typeof r.pid !== "number" ||
    typeof r.protocol !== "string" ||
    typeof r.connectionFile !== "string"
  ) {
    throw new SidecarError("start_failed", `not a ready line: ${line.slice(0, 200)}`);
  }
  return { event: "ready", endpoint: r.endpoint, pid: r.pid, protocol: r.protocol, connectionFile: r.connectionFile };
}

const LEVELS: Readonly<Record<string, keyof Logger>> = {
  debug: "debug",
  info: "info",
  warning: "warn",
  warn: "warn",
  error: "error",
  critical: "error",
};

/** The level of a stderr line: the sidecar's JSON log lines carry one; else Python's names. */
export function stderrLevel(line: string): keyof Logger {
  if (line.startsWith("{")) {
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      if (typeof level === "string") return LEVELS[level.toLowerCase()] ?? "info";
    } catch {
      // not JSON after all
    }
  }
  if (/\b(CRITICAL|ERROR|Traceback)\b/.test(line)) return "error";
  if (/\bWARNING\b/.test(line)) return "warn";
  if (/\bDEBUG\b/.test(line)) return "debug";
  return "info";
}
