/**
 * The main side of the renderer bridge: one `ipcMain.handle` per renderer-safe method
 * (`media-sidecar:<method>`), each validating what the renderer sent before it reaches the
 * sidecar, and the forwarding of events and supervision state to the webContents that asked
 * for them. The renderer side is preload.ts.
 */

import type { IpcMain, IpcMainInvokeEvent, WebContents } from "electron";

import { MAX_INACTIVITY_MS, MIN_INACTIVITY_MS, type CallOptions, type MediaStoreApi, downloadActivity } from "./api";
import { SidecarError } from "./errors";
import { type Logger, silentLogger } from "./logger";
import {
  GET_STATE_CHANNEL,
  MEDIA_STORE_METHODS,
  RESTART_CHANNEL,
  type MediaStoreError,
  type Outcome,
  STATE_CHANNEL,
  SUBSCRIBE_CHANNEL,
  EVENT_CHANNEL,
  type SidecarState,
  methodChannel,
} from "./preload";
import { ErrorCode, EVENT_NAMES, type MethodName, type SidecarEvent } from "./protocol";
import { RENDERER_RULES, type RendererMethod, validateBytes, validateParams } from "./validate";

export interface BridgeOptions {
  logger?: Logger;
  /**
   * Let the renderer name a local file for addMediaItem (`sourcePath`). Off by default: the
   * sidecar still confines paths to its import roots, but a page should hand over bytes.
   */
  allowSourcePath?: boolean;
  /** The largest inline `bytes` accepted from a renderer (default 1 GiB). */
  maxInlineBytes?: number;
  /** Serve only these methods (default: all of them). */
  methods?: readonly RendererMethod[];
  /**
   * Decide whether a sender may use the bridge (Electron's checklist: validate the sender of
   * every IPC message). Default: any live frame. Check `event.senderFrame.url` against your
   * app's origin here when the window can show foreign content.
   */
  allowSender?: (event: IpcMainInvokeEvent) => boolean;
}

/**
 * Anything with the protocol methods and events: a `Supervisor` or a `SidecarClient`. With
 * `start` (a Supervisor) the renderer may restart a `dead` library.
 */
export type BridgeTarget = MediaStoreApi<any> & { state?: SidecarState; start?: () => Promise<unknown> }; // eslint-disable-line @typescript-eslint/no-explicit-any

type IpcMainLike = Pick<IpcMain, "handle" | "removeHandler">;
type Subscriber = { wc: WebContents; names: Set<string> };

/** Register the handlers; returns a function that removes them and stops forwarding. */
export function registerBridge(ipcMain: IpcMainLike, store: BridgeTarget, options: BridgeOptions = {}): () => void {
  const log = options.logger ?? silentLogger;
  const maxInline = options.maxInlineBytes ?? 1024 * 1024 * 1024;
  const methods = options.methods ?? MEDIA_STORE_METHODS;
  const allowSender = options.allowSender ?? (() => true);
  const eventSubs = new Map<number, Subscriber>();
  const stateSubs = new Map<number, WebContents>();
  const channels: string[] = [];

  const senderOk = (event: IpcMainInvokeEvent): boolean => {
    if (!event.senderFrame || event.sender.isDestroyed()) return false;
    return allowSender(event);
  };

  for (const method of methods) {
    const rules = RENDERER_RULES[method];
    if (!rules) throw new Error(`${method} is not a renderer method`);
    const channel = methodChannel(method);
    channels.push(channel);
    ipcMain.handle(channel, async (event, params: unknown, bytes: unknown, callOptions: unknown): Promise<Outcome<unknown>> => {
      try {
        if (!senderOk(event)) throw new SidecarError(ErrorCode.unauthorized, "this sender may not use the media store", { method });
        const checked = validateParams(method, rules, params);
        if (checked["sourcePath"] !== undefined && !options.allowSourcePath) {
          throw new SidecarError(ErrorCode.path_not_allowed, "sourcePath is not accepted from the renderer", {
            method,
            field: "params.sourcePath",
          });
        }
        const payload = method === "addMediaItem" ? validateBytes(method, bytes, maxInline) : undefined;
        if (method !== "addMediaItem" && bytes !== undefined) {
          throw new SidecarError(ErrorCode.invalid_params, `${method} takes no bytes`, { method, field: "bytes" });
        }
        const opts: CallOptions = { ...checkCallOptions(method, checked, callOptions) };
        if (payload) opts.payloads = payload;
        const value = await store.call(method as MethodName, checked as never, opts);
        return { ok: true, value };
      } catch (err) {
        return { ok: false, error: toRendererError(err, method, log) };
      }
    });
  }

  ipcMain.handle(SUBSCRIBE_CHANNEL, (event, names: unknown): Outcome<{ events: string[] }> => {
    if (!senderOk(event)) return { ok: false, error: { code: ErrorCode.unauthorized, message: "sender refused", field: null } };
    if (!Array.isArray(names) || names.length > 64 || !names.every((n) => n === "*" || (EVENT_NAMES as readonly unknown[]).includes(n))) {
      return { ok: false, error: { code: ErrorCode.invalid_params, message: "names must be event names or '*'", field: "names" } };
    }
    const wc = event.sender;
    if (names.length === 0) eventSubs.delete(wc.id);
    else {
      if (!eventSubs.has(wc.id) && !stateSubs.has(wc.id)) watchDestroyed(wc);
      eventSubs.set(wc.id, { wc, names: new Set(names as string[]) });
    }
    return { ok: true, value: { events: names as string[] } };
  });
  channels.push(SUBSCRIBE_CHANNEL);

  ipcMain.handle(RESTART_CHANNEL, async (event): Promise<Outcome<{ state: SidecarState }>> => {
    if (!senderOk(event)) return { ok: false, error: { code: ErrorCode.unauthorized, message: "sender refused", field: null } };
    const start = store.start;
    try {
      if (store.state !== "dead" || !start) {
        throw new SidecarError("not_dead", `the library is ${store.state ?? "not supervised"}: only a dead library is restarted`, { method: "restart" });
      }
      await start.call(store);
      return { ok: true, value: { state: store.state ?? "ready" } };
    } catch (err) {
      return { ok: false, error: toRendererError(err, "restart", log) };
    }
  });
  channels.push(RESTART_CHANNEL);

  ipcMain.handle(GET_STATE_CHANNEL, (event): SidecarState | null => {
    if (!senderOk(event)) return null;
    const wc = event.sender;
    if (!eventSubs.has(wc.id) && !stateSubs.has(wc.id)) watchDestroyed(wc);
    stateSubs.set(wc.id, wc);
    return store.state ?? "ready";
  });
  channels.push(GET_STATE_CHANNEL);

  function watchDestroyed(wc: WebContents): void {
    wc.once("destroyed", () => {
      eventSubs.delete(wc.id);
      stateSubs.delete(wc.id);
    });
  }

  const onEvent = (ev: SidecarEvent): void => {
    for (const [id, { wc, names }] of eventSubs) {
      if (wc.isDestroyed()) {
        eventSubs.delete(id);
        continue;
      }
      if (names.has("*") || names.has(ev.name)) wc.send(EVENT_CHANNEL, ev);
    }
  };
  const onState = (state: SidecarState): void => {
    for (const [id, wc] of stateSubs) {
      if (wc.isDestroyed()) stateSubs.delete(id);
      else wc.send(STATE_CHANNEL, state);
    }
  };
  store.on("event", onEvent);
  store.on("state", onState);

  return () => {
    for (const ch of channels) ipcMain.removeHandler(ch);
    store.off("event", onEvent);
    store.off("state", onState);
    eventSubs.clear();
    stateSubs.clear();
  };
}

/** The renderer's per-call options: only `inactivityMs`, only for download calls, in bounds. */
function checkCallOptions(method: string, params: Record<string, unknown>, options: unknown): CallOptions {
  if (options === undefined || options === null) return {};
  const bad = (why: string): SidecarError => new SidecarError(ErrorCode.invalid_params, `options.inactivityMs ${why}`, { method, field: "options.inactivityMs" });
  if (typeof options !== "object" || Array.isArray(options)) throw new SidecarError(ErrorCode.invalid_params, "options must be an object", { method, field: "options" });
  const keys = Object.keys(options);
  if (keys.some((k) => k !== "inactivityMs")) throw new SidecarError(ErrorCode.invalid_params, "options may only name inactivityMs", { method, field: "options" });
  const ms = (options as { inactivityMs?: unknown }).inactivityMs;
  if (ms === undefined) return {};
  if (downloadActivity(method as MethodName, params) === null) throw bad("applies only to download calls");
  if (typeof ms !== "number" || !Number.isInteger(ms)) throw bad("must be an integer (ms)");
  if (ms < MIN_INACTIVITY_MS || ms > MAX_INACTIVITY_MS) throw bad(`must be within ${MIN_INACTIVITY_MS}..${MAX_INACTIVITY_MS}`);
  return { inactivityMs: ms };
}

function toRendererError(err: unknown, method: string, log: Logger): MediaStoreError {
  if (err instanceof SidecarError) return err.toJSON();
  log.error(`media-sidecar bridge: ${method} failed unexpectedly`, err);
  return { code: ErrorCode.internal, message: `${method} failed (see the main process log)`, field: null };
}
