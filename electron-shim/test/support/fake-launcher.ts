/**
 * A Supervisor launcher without processes or sockets, for the Supervisor's unit tests (with
 * node:test's fake timers). The real launcher is exercised by integration.test.ts against real
 * sidecars; this one lets a test decide what each spawned "sidecar" does: fail to start, crash,
 * stop answering pings, ignore shutdown or SIGTERM.
 */

import { type CallOptions, type CallReply, MediaStoreApi } from "../../src/api";
import type { ClientEventMap } from "../../src/client";
import { SidecarError } from "../../src/errors";
import type { ConnectOptions, LaunchedSidecar, Launcher } from "../../src/launcher";
import type * as P from "../../src/protocol";
import type { ExitInfo, ReadyLine, SpawnOptions } from "../../src/spawn";

/** What one spawned sidecar does. */
export interface Behaviour {
  /** Its spawn fails (`start_failed`). */
  failSpawn?: boolean;
  /** Pings never answer (they time out after their `timeoutMs`). */
  hangPings?: boolean;
  /** `shutdown` is answered but the process goes on running. */
  ignoreShutdown?: boolean;
  /** SIGTERM does not end it. */
  ignoreSigterm?: boolean;
  /** What other calls answer (default `{ method }`). */
  answer?: (method: string, params: unknown) => Promise<unknown>;
}

export class FakeProcess implements LaunchedSidecar {
  readonly ready: ReadyLine;
  exitInfo: ExitInfo | null = null;
  readonly exited: Promise<ExitInfo>;
  /** Every signal sent while it ran, in order. */
  readonly signals: NodeJS.Signals[] = [];
  private settle!: (info: ExitInfo) => void;

  constructor(
    readonly pid: number,
    readonly behaviour: Behaviour,
  ) {
    this.ready = { event: "ready", endpoint: `ipc:///fake/${pid}`, pid, protocol: "1.0.0", connectionFile: `/fake/${pid}.json` };
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): boolean {
    if (this.exitInfo !== null) return false;
    this.signals.push(signal);
    if (!(signal === "SIGTERM" && this.behaviour.ignoreSigterm)) this.exit({ code: null, signal });
    return true;
  }

  /** End it (a crash when the supervisor did not ask for it). */
  exit(info: ExitInfo = { code: 1, signal: null }): void {
    if (this.exitInfo !== null) return;
    this.exitInfo = info;
    this.settle(info);
  }
}

export class FakeConnection extends MediaStoreApi<ClientEventMap> {
  closed = false;
  readonly helloResult = { protocol: "1.0.0" } as P.HelloResult;
  /** Every call's method, in order. */
  readonly methods: string[] = [];

  constructor(
    readonly proc: FakeProcess,
    readonly options: ConnectOptions,
  ) {
    super();
  }

  override call<K extends P.MethodName>(method: K, params: P.ParamsOf<K>, options?: CallOptions): Promise<P.ResultOf<K>> {
    return this.callWithPayloads(method, params, options).then((r) => r.result);
  }

  override async callWithPayloads<K extends P.MethodName>(method: K, params: P.ParamsOf<K>, options: CallOptions = {}): Promise<CallReply<K>> {
    this.methods.push(method);
    if (this.closed) throw new SidecarError("client_closed", "closed", { method });
    const b = this.proc.behaviour;
    let result: unknown = { method };
    if (method === "ping" && b.hangPings) {
      await new Promise((r) => setTimeout(r, options.timeoutMs ?? 30_000));
      throw new SidecarError("timeout", `ping got no reply within ${options.timeoutMs} ms`, { method });
    } else if (method === "shutdown") {
      if (!b.ignoreShutdown) queueMicrotask(() => this.proc.exit({ code: 0, signal: null }));
    } else if (method !== "subscribe" && b.answer) {
      result = await b.answer(method, params);
    }
    return { result: result as P.ResultOf<K>, payloads: [] };
  }

  close(reason?: SidecarError): void {
    if (this.closed) return;
    this.closed = true;
    this.emit("closed", reason ?? new SidecarError("client_closed", "closed"));
  }
}

export class FakeLauncher implements Launcher {
  readonly processes: FakeProcess[] = [];
  readonly connections: FakeConnection[] = [];
  readonly spawnOptions: SpawnOptions[] = [];
  /** When set, connect() waits for this before it answers. */
  connectGate: Promise<void> | null = null;
  private nextPid = 1000;

  /** `behaviours[i]` is what the i-th spawned sidecar does (the last one repeats). */
  constructor(private readonly behaviours: Behaviour[] = [{}]) {}

  spawn(options: SpawnOptions): Promise<LaunchedSidecar> {
    this.spawnOptions.push(options);
    const behaviour = this.behaviours[Math.min(this.spawnOptions.length - 1, this.behaviours.length - 1)] ?? {};
    if (behaviour.failSpawn) return Promise.reject(new SidecarError("start_failed", "no ready line (fake)"));
    const proc = new FakeProcess(this.nextPid++, behaviour);
    this.processes.push(proc);
    return Promise.resolve(proc);
  }

  async connect(options: ConnectOptions): Promise<FakeConnection> {
    if (this.connectGate) await this.connectGate;
    const proc = this.processes.find((p) => p.ready.endpoint === options.endpoint);
    if (!proc) throw new SidecarError("start_failed", `nothing at ${options.endpoint}`);
    const connection = new FakeConnection(proc, options);
    this.connections.push(connection);
    return connection;
  }

  get last(): FakeProcess {
    const p = this.processes.at(-1);
    if (!p) throw new Error("nothing spawned");
    return p;
  }
}
