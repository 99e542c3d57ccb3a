/**
 * @media-sidecar/electron-shim: the Electron main-process side of media-sidecar.
 *
 * - `Supervisor`: spawns the sidecar (Python, or its frozen build), restarts it after a crash, stops it in order.
 * - `SidecarClient`: one signed ZeroMQ connection (the supervisor makes them for you).
 * - `registerBridge` + (in the preload) `exposeMediaStore`: the renderer's `window.mediaStore`.
 * - `installCsp` / `withCsp` / `cspMetaTag` / `buildCsp`: the app's Content-Security-Policy.
 * - `registerMediaScheme` + `serveMedia` (or `createMediaHandler`): play every item in the
 *   renderer at `media-sidecar://item/<projectId>/<itemId>` (ranges, seeking, any status).
 * - `attachToApp`: stop the sidecar before the app quits.
 *
 * Nothing here requires `electron` at load time: the Electron objects are passed in.
 */

import { join } from "node:path";

export { MediaStoreApi, type ApiEventMap, type CallOptions, type CallReply, type InlineBytes, type MediaRange, DEFAULT_TIMEOUT_MS, LONG_TIMEOUT_MS } from "./api";
export { attachToApp, type Stoppable } from "./app";
export { registerBridge, type BridgeOptions, type BridgeTarget } from "./bridge";
export { parseConnectionFile, readConnectionFile, type ConnectionFile } from "./connection-file";
export { SidecarClient, type ClientEventMap, type ClientOptions, type MessageObserver, type StrayMessage } from "./client";
export { DEFAULT_POLICY, buildCsp, checkMediaScheme, cspDirectives, cspHeaders, cspMetaTag, parsePolicy, type CspOptions, type CspPolicy, type CspTarget } from "./csp";
export { installCsp, replaceCspHeaders, withCsp, type InstallCspOptions } from "./csp-install";
export { LOCAL_ERROR_CODES, SidecarError, toSidecarError, type LocalErrorCode } from "./errors";
export { contentRange, ifRangeAllows, parseRange, strongEtag, type ByteRange, type RangeDecision } from "./http-range";
export { DEFAULT_LAUNCHER, type ConnectOptions, type LaunchedSidecar, type Launcher, type SidecarConnection } from "./launcher";
export { createMediaHandler, hostAllowed, parseMediaUrl, type MediaBytesSource, type MediaHandler, type MediaHandlerOptions, type MediaRef } from "./media-handler";
export { mediaSchemePrivileges, registerMediaScheme, serveMedia } from "./media-scheme";
export { silentLogger, type Logger } from "./logger";

/**
 * A ready preload script that calls exposeMediaStore(): requires nothing but `electron`, so it
 * works as `webPreferences.preload` even when sandboxed, without a bundler.
 */
export const PRELOAD_PATH: string = join(__dirname, "preload-standalone.js");
export type { MediaStore, MediaStoreError, Outcome, PlayableItem, PlaybackOptions, RendererEvent, SidecarState } from "./preload";
export { DEFAULT_MEDIA_SCHEME, mediaItemUrl, playbackUrl } from "./preload";
export * from "./protocol";
export { RestartPolicy, type RestartDecision, type RestartPolicyOptions } from "./restart-policy";
export { SECRET_ENV, parseReadyLine, sidecarArgs, sidecarExecutable, spawnSidecar, type ExitInfo, type ReadyLine, type SidecarProcess, type SpawnOptions } from "./spawn";
export { payloadDigest, sign, verify } from "./signing";
export {
  Supervisor,
  type CrashInfo,
  type ReadyInfo,
  type StopResult,
  type SupervisorEventMap,
  type SupervisorOptions,
  type SupervisorState,
} from "./supervisor";
export { RENDERER_METHODS, type RendererMethod } from "./validate";
export type { HeartbeatOptions } from "./heartbeat";
