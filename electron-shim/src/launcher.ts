/**
 * The Supervisor's one seam to the outside: how a sidecar is started (spawn, ready line) and
 * how a connection to it is opened (ZeroMQ + hello). The default is the real thing, spawn.ts
 * and client.ts; a test (or an app that runs the sidecar some other way) passes its own.
 */

import type { MediaStoreApi } from "./api";
import { type ClientEventMap, type MessageObserver, SidecarClient } from "./client";
import type { SidecarError } from "./errors";
import type { Logger } from "./logger";
import type * as P from "./protocol";
import { type SidecarProcess, type SpawnOptions, spawnSidecar } from "./spawn";

/** What the Supervisor needs of a started sidecar (`spawnSidecar` returns more). */
export type LaunchedSidecar = Pick<SidecarProcess, "pid" | "ready" | "exited" | "exitInfo" | "kill">;

/** What the Supervisor needs of a connection (a `SidecarClient` has it all). */
export type SidecarConnection = Pick<MediaStoreApi<ClientEventMap>, "call" | "callWithPayloads" | "ping" | "subscribe" | "on"> & {
  readonly closed: boolean;
  readonly helloResult: P.HelloResult;
  close(reason?: SidecarError): void;
};

export interface ConnectOptions {
  /** The endpoint of the sidecar's ready line. */
  endpoint: string;
  secret: string;
  logger: Logger;
  clientInfo: P.ClientInfo;
  onMessage?: MessageObserver;
}

export interface Launcher {
  /** Start one sidecar and wait for its ready line; rejects (`start_failed`) otherwise. */
  spawn(options: SpawnOptions): Promise<LaunchedSidecar>;
  /** Open a connection and perform hello; rejects with a `SidecarError` otherwise. */
  connect(options: ConnectOptions): Promise<SidecarConnection>;
}

/** The real launcher: `spawnSidecar` (spawn.ts) and `SidecarClient.connect` (client.ts). */
export const DEFAULT_LAUNCHER: Launcher = {
  spawn: (options) => spawnSidecar(options),
  connect: (options) => SidecarClient.connect(options),
};
