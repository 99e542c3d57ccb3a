/**
 * The renderer side of the bridge: `exposeMediaStore()` puts a typed `window.mediaStore` in
 * the page through `contextBridge`. Call it from the app's preload script.
 *
 * Self-contained on purpose: at run time this file requires nothing but `electron` (and only
 * inside the functions), so it also works as a sandboxed preload, where `require` reaches
 * only a few built-in modules. Everything else it uses is a type.
 *
 * Calls resolve to `{ ok: true, value }` or `{ ok: false, error: { code, message, field } }`
 * instead of rejecting: contextBridge copies only the message of an Error across worlds
 * (electron/electron#25596), and the renderer needs the code (toast vs. retry vs. banner).
 */

import type { ContextBridge, IpcRenderer, IpcRendererEvent } from "electron";

import type { LocalErrorCode } from "./errors";
import type * as G from "./generated/protocol";
import type * as P from "./protocol";

/** `media-sidecar:<method>` for calls; the bridge's own channels have a dot, which no method name has. */
export const CHANNEL_PREFIX = "media-sidecar:";
export const EVENT_CHANNEL = `${CHANNEL_PREFIX}events.push`;
export const SUBSCRIBE_CHANNEL = `${CHANNEL_PREFIX}events.subscribe`;
export const STATE_CHANNEL = `${CHANNEL_PREFIX}state.push`;
export const GET_STATE_CHANNEL = `${CHANNEL_PREFIX}state.get`;
export const RESTART_CHANNEL = `${CHANNEL_PREFIX}state.restart`;
export const methodChannel = (method: string): string => `${CHANNEL_PREFIX}${method}`;

// ---------------------------------------------------------------- playback URLs (pure)

/** The scheme `serveMedia` registers unless told otherwise. */
export const DEFAULT_MEDIA_SCHEME = "media-sidecar";
/** The protocol's id rule (protocol/media.py): 1..128 of `[A-Za-z0-9._:-]`. */
export const MEDIA_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SCHEME_NAME = /^[a-z][a-z0-9+.-]{0,31}$/;

/** What playbackUrl needs of an item (a `MediaItem` has all of it). */
export interface PlayableItem {
  id: string;
  projectId: string;
  status: P.ItemStatus;
  sourceUrl?: string | null;
}

export interface PlaybackOptions {
  /** The scheme given to `registerMediaScheme` / `serveMedia` (default `media-sidecar`). */
  scheme?: string;
}

/**
 * `<scheme>://item/<projectId>/<itemId>`, the URL the media handler serves, or null for ids
 * that no URL can carry (`.` and `..` are path segments every URL parser removes).
 */
export function mediaItemUrl(projectId: string, itemId: string, scheme: string = DEFAULT_MEDIA_SCHEME): string | null {
  if (!SCHEME_NAME.test(scheme)) throw new TypeError(`${JSON.stringify(scheme)} is not a URL scheme name`);
  for (const id of [projectId, itemId]) {
    if (typeof id !== "string" || !MEDIA_ID.test(id) || id === "." || id === "..") return null;
  }
  return `${scheme}://item/${projectId}/${itemId}`;
}

/**
 * The URL to put in `<video src>` / `<img src>` for an item, by status:
 * - `saved`, `unsaved`: the media scheme (ranges, seeking; an unsaved item plays from the
 *   bytes the sidecar holds, and keeps playing when it gets saved: same URL, same ETag);
 * - `urlOnly`: its `sourceUrl` (an https URL: the page plays it from FAL, which the CSP
 *   allows; the bytes are not local yet). Once downloaded the item is `saved`: ask again;
 * - `expired`, `lost`: null (no local bytes and nothing to fetch them from here: show the
 *   item's error instead; a lost item comes back only by adding its bytes again).
 */
export function playbackUrl(item: PlayableItem, options: PlaybackOptions = {}): string | null {
  switch (item.status) {
    case "saved":
    case "unsaved":
      return mediaItemUrl(item.projectId, item.id, options.scheme);
    case "urlOnly":
      return typeof item.sourceUrl === "string" && item.sourceUrl.startsWith("https://") ? item.sourceUrl : null;
    default: // expired, lost (and a status this build does not know)
      return null;
  }
}

/**
 * Every code a renderer may see: the protocol's (`protocol/errors.py`), the shim's own
 * (`LOCAL_ERROR_CODES`), and `ipc_failed` when the IPC call itself failed (no handler in main).
 */
export type MediaStoreErrorCode = P.ErrorCode | LocalErrorCode | "ipc_failed";

/**
 * What the renderer sees of a failure (a plain object: it survives the bridge). `data` is the
 * server's error data when it sent some (e.g. `{itemId, status}` of a failed download add).
 */
export interface MediaStoreError {
  code: MediaStoreErrorCode;
  message: string;
  field: string | null;
  data?: Record<string, unknown> | null;
}

/** Options of the renderer's download calls. */
export interface DownloadCallOptions {
  /**
   * Give the call up (`timeout`) when its download shows no progress for this many ms
   * (1 000 ..1 800 000; default 60 000). There is no total timeout: a long download that keeps
   * moving is never cut. The download itself goes on in the sidecar (see listDownloads).
   */
  inactivityMs?: number;
}
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: MediaStoreError };

/** The sidecar's supervision state, for a "library unavailable" banner. */
export type SidecarState = "idle" | "starting" | "ready" | "restarting" | "stopping" | "stopped" | "dead";

export type RendererEvent = { [E in P.EventName]: { name: E; seq: number; ts: number; data: P.Events[E] } }[P.EventName];

/** Bytes the renderer hands over for addMediaItem (a File's `arrayBuffer()`, a Uint8Array). */
export type RendererBytes = Uint8Array | ArrayBuffer;

/**
 * The renderer's policy (the rest of each call's shape comes from the protocol's generated
 * types): the methods it may call (the bridge serves exactly these; no session, process or
 * test-only methods, no main-process-only playback reads), ...
 */
export const MEDIA_STORE_METHODS = [
  "ping",
  "addMediaItem",
  "getMediaItem",
  "removeMediaItem",
  "listMediaItems",
  "retrySaveItem",
  "retryAllUnsaved",
  "storageStatus",
  "downloadUrlOnlyItem",
  "downloadAllUrlOnly",
  "cancelDownload",
  "listDownloads",
] as const satisfies readonly P.MethodName[];
/** ... the calls that take inline bytes (the protocol's payload methods the renderer gets) ... */
const BYTES_CALLS = ["addMediaItem"] as const satisfies readonly PayloadMethod[];
/** ... and the download calls, which take `DownloadCallOptions`. */
const DOWNLOAD_CALLS = ["addMediaItem", "downloadUrlOnlyItem", "downloadAllUrlOnly"] as const satisfies readonly StoreMethod[];

type PayloadMethod = (typeof G.PAYLOAD_METHODS)[number];
type StoreMethod = (typeof MEDIA_STORE_METHODS)[number];

/**
 * A call's arguments, from its params type: none (no fields), optional params (no required
 * field), or params; then the bytes and the options where the policy above gives them.
 */
type StoreCallArgs<K extends StoreMethod> = [
  ...(P.ParamsOf<K> extends Record<string, never> ? [] : Record<string, never> extends P.ParamsOf<K> ? [params?: P.ParamsOf<K>] : [params: P.ParamsOf<K>]),
  ...(K extends (typeof BYTES_CALLS)[number] ? [bytes?: RendererBytes] : []),
  ...(K extends (typeof DOWNLOAD_CALLS)[number] ? [options?: DownloadCallOptions] : []),
];

/**
 * One method per renderer-facing protocol method, typed from the protocol's generated types
 * (`listDownloads` lists the downloads in progress, for a reloaded window).
 */
export type MediaStoreCalls = { [K in StoreMethod]: (...args: StoreCallArgs<K>) => Promise<Outcome<P.ResultOf<K>>> };

export interface MediaStore extends MediaStoreCalls {
  /** Start a `dead` library again (after "too many crashes"); `not_dead` in any other state. */
  restart(): Promise<Outcome<{ state: SidecarState }>>;
  /** Listen to one event (or `"*"` for all); returns the unsubscribe function. */
  onEvent<E extends P.EventName>(name: E, callback: (data: P.Events[E], event: RendererEvent) => void): () => void;
  onEvent(name: "*", callback: (data: RendererEvent["data"], event: RendererEvent) => void): () => void;
  /** The sidecar's state now, then on every change; returns the unsubscribe function. */
  onState(callback: (state: SidecarState) => void): () => void;
  /** The URL for `<video src>` of an item, by status (see `playbackUrl`); pure, no IPC. */
  playbackUrl(item: PlayableItem): string | null;
}

type IpcRendererLike = Pick<IpcRenderer, "invoke" | "on" | "removeListener">;

/** Build the `mediaStore` object over an ipcRenderer (exposeMediaStore does this for you). */
export function createMediaStore(ipc: IpcRendererLike, options: PlaybackOptions = {}): MediaStore {
  const scheme = options.scheme ?? DEFAULT_MEDIA_SCHEME;
  mediaItemUrl("p", "i", scheme); // a bad scheme name fails here, not at the first playback
  const invoke = <T>(method: string, ...args: unknown[]): Promise<Outcome<T>> =>
    ipc.invoke(methodChannel(method), ...args).then(
      (o) => o as Outcome<T>,
      (err: unknown): Outcome<T> => ({ ok: false, error: { code: "ipc_failed", message: String(err), field: null } }),
    );

  // One IPC listener per page; callbacks are kept here, and main is told which names we want.
  const listeners = new Map<string, Set<(data: unknown, event: RendererEvent) => void>>();
  let eventListenerInstalled = false;
  const onIpcEvent = (_e: IpcRendererEvent, event: RendererEvent): void => {
    for (const key of [event.name, "*"]) {
      for (const cb of listeners.get(key) ?? []) {
        try {
          cb(event.data, event);
        } catch (err) {
          console.error("mediaStore event listener failed", err);
        }
      }
    }
  };
  const syncSubscription = (): void => {
    void ipc.invoke(SUBSCRIBE_CHANNEL, [...listeners.keys()]).catch(() => undefined);
  };

  const stateCallbacks = new Set<(s: SidecarState) => void>();
  const onIpcState = (_e: IpcRendererEvent, state: SidecarState): void => {
    for (const cb of stateCallbacks) cb(state);
  };

  return {
    ...calls(invoke),
    restart: () =>
      ipc.invoke(RESTART_CHANNEL).then(
        (o) => o as Outcome<{ state: SidecarState }>,
        (err: unknown): Outcome<{ state: SidecarState }> => ({ ok: false, error: { code: "ipc_failed", message: String(err), field: null } }),
      ),
    onEvent(name: string, callback: (data: never, event: RendererEvent) => void): () => void {
      if (typeof callback !== "function") throw new TypeError("onEvent needs a callback");
      const cb = callback as (data: unknown, event: RendererEvent) => void;
      if (!eventListenerInstalled) {
        ipc.on(EVENT_CHANNEL, onIpcEvent);
        eventListenerInstalled = true;
      }
      let set = listeners.get(name);
      const isNewName = !set;
      if (!set) listeners.set(name, (set = new Set()));
      set.add(cb);
      if (isNewName) syncSubscription();
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        const s = listeners.get(name);
        s?.delete(cb);
        if (s && s.size === 0) {
          listeners.delete(name);
          syncSubscription();
        }
        if (listeners.size === 0 && eventListenerInstalled) {
          ipc.removeListener(EVENT_CHANNEL, onIpcEvent);
          eventListenerInstalled = false;
        }
      };
    },
    playbackUrl: (item) => playbackUrl(item, { scheme }),
    onState(callback) {
      if (typeof callback !== "function") throw new TypeError("onState needs a callback");
      if (stateCallbacks.size === 0) ipc.on(STATE_CHANNEL, onIpcState);
      stateCallbacks.add(callback);
      void ipc.invoke(GET_STATE_CHANNEL).then((s) => stateCallbacks.has(callback) && callback(s as SidecarState), () => undefined);
      return () => {
        stateCallbacks.delete(callback);
        if (stateCallbacks.size === 0) ipc.removeListener(STATE_CHANNEL, onIpcState);
      };
    },
  };
}

/** The protocol methods of the store: each passes its params, bytes and options to `invoke`. */
function calls(invoke: (method: string, params: unknown, bytes: unknown, options: unknown) => Promise<unknown>): MediaStoreCalls {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of MEDIA_STORE_METHODS) {
    const takesBytes = (BYTES_CALLS as readonly string[]).includes(method);
    const takesOptions = (DOWNLOAD_CALLS as readonly string[]).includes(method);
    out[method] = (params?: unknown, ...rest: unknown[]) => {
      const bytes = takesBytes ? rest.shift() : undefined;
      return invoke(method, params, bytes, takesOptions ? rest.shift() : undefined);
    };
  }
  return out as MediaStoreCalls;
}

/**
 * Expose `window.mediaStore` (or `window[key]`) to the page. Needs `contextIsolation: true`
 * (Electron's default). Pass `electron` only in tests; the preload's own is used otherwise.
 */
export function exposeMediaStore(
  key = "mediaStore",
  electron?: { contextBridge: Pick<ContextBridge, "exposeInMainWorld">; ipcRenderer: IpcRendererLike },
  options: PlaybackOptions = {},
): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file's docstring
  const { contextBridge, ipcRenderer } = electron ?? (require("electron") as typeof import("electron"));
  contextBridge.exposeInMainWorld(key, createMediaStore(ipcRenderer, options));
}

declare global {
  interface Window {
    /** Put there by `exposeMediaStore()` in the preload script. */
    mediaStore: MediaStore;
  }
}
