/**
 * The supervisor: keeps one sidecar running for the app. Spawn → connect + hello (through its
 * launcher, launcher.ts: spawn.ts and client.ts unless one is given) → subscribe → `ready`.
 * A crash rejects every pending call with `sidecar_exited`, then the restart policy
 * (restart-policy.ts) decides: restart after a backoff, or `dead`. A hung sidecar is found by
 * the heartbeat (heartbeat.ts) and killed, which is a crash. Stop in order (stop-escalation.ts):
 * `shutdown` request, wait, SIGTERM, wait, SIGKILL.
 *
 * Calls made while the sidecar is (re)starting wait for it at the ready gate (ready-gate.ts),
 * within their own timeout.
 */

import { randomBytes } from "node:crypto";

import { type ApiEventMap, type CallOptions, type CallReply, DEFAULT_TIMEOUT_MS, MediaStoreApi, defaultTimeoutMs, downloadActivity } from "./api";
import type { MessageObserver, StrayMessage } from "./client";
import { SidecarError, toSidecarError } from "./errors";
import { type Heartbeat, type HeartbeatOptions, startHeartbeat } from "./heartbeat";
import { DEFAULT_LAUNCHER, type LaunchedSidecar, type Launcher, type SidecarConnection } from "./launcher";
import { type Logger, silentLogger } from "./logger";
import type * as P from "./protocol";
import { ReadyGate } from "./ready-gate";
import { RestartPolicy, type RestartPolicyOptions } from "./restart-policy";
import { type ExitInfo, type SpawnOptions, sidecarExecutable } from "./spawn";
import { escalateStop, waitExit } from "./stop-escalation";

export type SupervisorState = "idle" | "starting" | "ready" | "restarting" | "stopping" | "stopped" | "dead";

export interface SupervisorOptions extends Omit<SpawnOptions, "secret" | "logger"> {
  /**
   * A fixed shared secret. By default a fresh random one is made for every start (and
   * restart), so nothing captured from one sidecar's connection is valid for the next.
   */
  secret?: string;
  logger?: Logger;
  restart?: RestartPolicyOptions;
  /** The events to subscribe to after each (re)start; `false` for none. Default: all. */
  subscribe?: P.SubscribeParams | false;
  clientInfo?: P.ClientInfo;
  /** Liveness: ping every `intervalMs`; `misses` pings in a row without reply → kill + restart. */
  heartbeat?: HeartbeatOptions | false;
  /** The stop sequence's waits. */
  stop?: { drainTimeoutMs?: number; shutdownWaitMs?: number; termWaitMs?: number; killWaitMs?: number };
  /** A debugging and validation hook, given to every connection (see `MessageObserver`). */
  onMessage?: MessageObserver;
  /**
   * How a sidecar is spawned and connected to (default `DEFAULT_LAUNCHER`: `spawnSidecar` and
   * `SidecarClient.connect`). Give your own to run the sidecar another way, or in tests.
   */
  launcher?: Launcher;
}

export interface ReadyInfo {
  pid: number;
  endpoint: string;
  connectionFile: string;
  hello: P.HelloResult;
}

export interface CrashInfo extends ExitInfo {
  pid: number | null;
  /** Why, when the process did not simply exit (start failure, heartbeat). */
  reason: string;
  crashesInWindow: number;
  willRestart: boolean;
  delayMs?: number;
}

/** How a stop went: what ended the process (`none`: nothing was running). */
export interface StopResult {
  exit: ExitInfo | null;
  escalation: "none" | "shutdown" | "SIGTERM" | "SIGKILL";
}

export type SupervisorEventMap = ApiEventMap & {
  state: [state: SupervisorState, previous: SupervisorState];
  ready: [info: ReadyInfo];
  crash: [info: CrashInfo];
  /** The supervisor gave up: too many crashes in the window. Calls now reject `sidecar_dead`. */
  dead: [lastError: SidecarError];
  stray: [stray: StrayMessage];
  gap: [info: { expected: number; got: number }];
};

export class Supervisor extends MediaStoreApi<SupervisorEventMap> {
  private readonly log: Logger;
  /** The secret of the current (or last) start. */
  private secret: string;
  private readonly policy: RestartPolicy;
  private _state: SupervisorState = "idle";
  private readonly launcher: Launcher;
  private proc: LaunchedSidecar | null = null;
  private client: SidecarConnection | null = null;
  private readonly gate = new ReadyGate<SidecarConnection>();
  private restartTimer: NodeJS.Timeout | null = null;
  private heartbeat: Heartbeat | null = null;
  private lastError: SidecarError | null = null;
  private stopping: Promise<StopResult> | null = null;
  private spawning: Promise<LaunchedSidecar> | null = null;
  private generation = 0;

  constructor(private readonly options: SupervisorOptions = {}) {
    super();
    sidecarExecutable(options); // `python` or `command`, not both: a mistake to see at once
    this.log = options.logger ?? silentLogger;
    this.secret = options.secret ?? randomBytes(32).toString("hex");
    this.policy = new RestartPolicy(options.restart);
    this.launcher = options.launcher ?? DEFAULT_LAUNCHER;
  }

  get state(): SupervisorState {
    return this._state;
  }

  /** The running sidecar's pid (null when none). */
  get pid(): number | null {
    return this.proc?.exitInfo === null ? this.proc.pid : null;
  }

  /** The hello of the current connection (null when not ready). */
  get hello(): P.HelloResult | null {
    return this._state === "ready" && this.client ? this.client.helloResult : null;
  }

  /**
   * Start the sidecar; resolves when it answered hello. Failed starts count as crashes: the
   * promise rejects with `sidecar_dead` once the policy gives up (or `not_running` if stopped).
   */
  async start(): Promise<ReadyInfo> {
    if (this._state === "ready" && this.client && this.proc) return this.readyInfo(this.proc, this.client);
    if (this._state === "idle" || this._state === "stopped" || this._state === "dead") {
      this.policy.reset();
      this.lastError = null;
      void this.launch("starting");
    } else if (this._state === "stopping") {
      throw new SidecarError("not_running", "the sidecar is stopping");
    }
    const client = await this.waitForClient(Infinity, "start");
    return this.readyInfo(this.proc!, client);
  }

  override async call<K extends P.MethodName>(method: K, params: P.ParamsOf<K>, options: CallOptions = {}): Promise<P.ResultOf<K>> {
    return (await this.callWithPayloads(method, params, options)).result;
  }

  override async callWithPayloads<K extends P.MethodName>(method: K, params: P.ParamsOf<K>, options: CallOptions = {}): Promise<CallReply<K>> {
    // A download call without an explicit timeout is timed by its inactivity (the client
    // does it); only the wait for a ready sidecar is bounded here.
    const byInactivity = options.timeoutMs === undefined && downloadActivity(method, params) !== null;
    const timeoutMs = options.timeoutMs ?? (byInactivity ? DEFAULT_TIMEOUT_MS : defaultTimeoutMs(method, params));
    const started = Date.now();
    const client = await this.waitForClient(timeoutMs, method);
    if (byInactivity) return client.callWithPayloads(method, params, options);
    return client.callWithPayloads(method, params, { ...options, timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) });
  }

  /**
   * Stop: `shutdown` request, wait for exit; SIGTERM, wait; SIGKILL. Pending calls are
   * rejected (`sidecar_exited`), waiting calls `not_running`. Safe to call twice.
   */
  stop(): Promise<StopResult> {
    if (this.stopping) return this.stopping;
    if (this._state === "idle" || this._state === "stopped") return Promise.resolve({ exit: null, escalation: "none" });
    this.stopping = this.stopSequence().finally(() => {
      this.stopping = null;
    });
    return this.stopping;
  }

  // ------------------------------------------------------------------ lifecycle

  private setState(next: SupervisorState): void {
    const prev = this._state;
    if (prev === next) return;
    this._state = next;
    this.log.debug(`media-sidecar supervisor: ${prev} → ${next}`);
    this.emit("state", next, prev);
  }

  private async launch(state: "starting" | "restarting"): Promise<void> {
    const generation = ++this.generation;
    this.setState(state);
    let proc: LaunchedSidecar | null = null;
    try {
      const secret = this.options.secret ?? randomBytes(32).toString("hex"); // one per start
      this.secret = secret;
      this.spawning = this.launcher.spawn({ ...this.options, secret, logger: this.log });
      proc = await this.spawning.finally(() => (this.spawning = null));
      if (generation !== this.generation) {
        // stop() ran while spawning
        proc.kill("SIGKILL");
        return;
      }
      this.proc = proc;
      // From here on every failure ends in the exit handler (kill if needed), never twice.
      void proc.exited.then((info) => this.onExit(generation, info));
      const client = await this.launcher.connect({
        endpoint: proc.ready.endpoint,
        secret,
        logger: this.log,
        clientInfo: this.options.clientInfo ?? { name: "media-sidecar-electron-shim", version: "0.1.0" },
        onMessage: this.options.onMessage,
      });
      if (generation !== this.generation || proc.exitInfo !== null) {
        client.close(new SidecarError("sidecar_exited", "the sidecar exited during start-up"));
        return;
      }
      this.attachClient(client);
      if (this.options.subscribe !== false) await client.subscribe(this.options.subscribe ?? {});
      if (generation !== this.generation || proc.exitInfo !== null) return;
      this.setState("ready");
      this.startHeartbeat(generation, client);
      const info = this.readyInfo(proc, client);
      this.emit("ready", info);
      this.gate.open(client);
    } catch (err) {
      if (generation !== this.generation) return;
      const error = toSidecarError(err, "start_failed");
      this.log.warn(`media-sidecar supervisor: start failed: ${error.message}`);
      if (proc) {
        // A sidecar that started but would not hello: the exit handler turns it into a crash.
        if (proc.exitInfo === null) {
          this.lastError = error;
          proc.kill("SIGKILL");
        }
        return;
      }
      this.crashed(generation, { code: null, signal: null }, null, error);
    }
  }

  private attachClient(client: SidecarConnection): void {
    this.client = client;
    client.on("event", (ev) => {
      this.emit("event", ev);
      (this.emit as (n: string, d: unknown, m: unknown) => boolean)(ev.name, ev.data, { seq: ev.seq, ts: ev.ts });
    });
    client.on("stray", (s) => this.emit("stray", s));
    client.on("gap", (g) => this.emit("gap", g));
  }

  private onExit(generation: number, info: ExitInfo): void {
    if (generation !== this.generation) return;
    if (this._state === "stopping") return; // the stop sequence handles it
    const pid = this.proc?.pid ?? null;
    const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
    const error = this.lastError ?? new SidecarError("sidecar_exited", `the sidecar (pid ${pid}) exited with ${how}`);
    this.lastError = null;
    this.crashed(generation, info, pid, error);
  }

  private crashed(generation: number, info: ExitInfo, pid: number | null, error: SidecarError): void {
    this.stopHeartbeat();
    const exited = new SidecarError("sidecar_exited", error.message, { cause: error });
    this.client?.close(exited);
    this.client = null;
    this.proc = null;
    const decision = this.policy.recordCrash();
    const crash: CrashInfo = {
      ...info,
      pid,
      reason: error.message,
      crashesInWindow: decision.crashesInWindow,
      willRestart: decision.restart,
      ...(decision.restart ? { delayMs: decision.delayMs } : {}),
    };
    this.log.warn(
      `media-sidecar supervisor: crash ${decision.crashesInWindow} in window: ${error.message}` +
        (decision.restart ? `; restarting in ${decision.delayMs} ms` : "; giving up"),
    );
    this.emit("crash", crash);
    if (!decision.restart) {
      const dead = new SidecarError(
        "sidecar_dead",
        `the sidecar crashed ${decision.crashesInWindow} times within the restart window; not restarting (last: ${error.message})`,
        { cause: error },
      );
      this.setState("dead");
      this.gate.fail(dead);
      this.emit("dead", dead);
      return;
    }
    this.setState("restarting");
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (generation === this.generation && this._state === "restarting") void this.launch("restarting");
    }, decision.delayMs);
  }

  private async stopSequence(): Promise<StopResult> {
    const stopOpts = this.options.stop ?? {};
    this.generation++; // invalidates in-flight launches, restarts and exit handlers
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.stopHeartbeat();
    this.setState("stopping");
    this.gate.fail(new SidecarError("not_running", "the sidecar was stopped"));
    if (this.spawning) {
      // A launch in its spawn phase kills what it spawned once it sees the new generation.
      const spawned = await this.spawning.catch(() => null);
      if (spawned) await waitExit(spawned, stopOpts.killWaitMs ?? 5_000);
    }
    const proc = this.proc;
    const client = this.client;
    let escalation: StopResult["escalation"] = "none";
    if (proc && proc.exitInfo === null) {
      const drainTimeoutMs = stopOpts.drainTimeoutMs ?? 5_000;
      const shutdownWaitMs = stopOpts.shutdownWaitMs ?? drainTimeoutMs + 2_000;
      const requestShutdown = client && !client.closed ? () => client.call("shutdown", { drainTimeoutMs }, { timeoutMs: shutdownWaitMs }) : null;
      escalation = await escalateStop(proc, requestShutdown, { shutdownWaitMs, termWaitMs: stopOpts.termWaitMs ?? 5_000, killWaitMs: stopOpts.killWaitMs ?? 5_000 }, this.log);
    }
    client?.close(new SidecarError("sidecar_exited", "the sidecar was stopped"));
    this.client = null;
    this.proc = null;
    this.setState("stopped");
    return { exit: proc?.exitInfo ?? null, escalation };
  }

  // ------------------------------------------------------------------ heartbeat

  private startHeartbeat(generation: number, client: SidecarConnection): void {
    const options = this.options.heartbeat;
    if (options === false) return;
    this.heartbeat = startHeartbeat(
      {
        ping: (timeoutMs) => client.ping({ timeoutMs }),
        alive: () => generation === this.generation && this._state === "ready" && !client.closed,
        hung: (missed) => {
          if (!this.proc) return;
          this.lastError = new SidecarError("sidecar_exited", `the sidecar stopped answering ping (${missed} in a row)`);
          this.proc.kill("SIGKILL");
        },
        log: this.log,
      },
      options,
    );
  }

  private stopHeartbeat(): void {
    this.heartbeat?.stop();
    this.heartbeat = null;
  }

  // ------------------------------------------------------------------ waiting for ready

  private waitForClient(timeoutMs: number, method: string): Promise<SidecarConnection> {
    switch (this._state) {
      case "ready":
        if (this.client) return Promise.resolve(this.client);
        break;
      case "dead":
        return Promise.reject(new SidecarError("sidecar_dead", "the sidecar crashed too often and is not restarted (call start() to try again)", { method }));
      case "idle":
      case "stopped":
      case "stopping":
        return Promise.reject(new SidecarError("not_running", `the sidecar is ${this._state}`, { method }));
      default:
        break;
    }
    return this.gate.wait(timeoutMs, method);
  }

  private readyInfo(proc: LaunchedSidecar, client: SidecarConnection): ReadyInfo {
    return { pid: proc.pid, endpoint: proc.ready.endpoint, connectionFile: proc.ready.connectionFile, hello: client.helloResult };
  }
}

