/**
 * The typed surface shared by `SidecarClient` (one connection) and `Supervisor` (whatever
 * connection is current). The one-line wrapper of each protocol method is generated
 * (`ProtocolMethods`, src/generated/methods.ts); written here are the call options and their
 * timeouts, the one wrapper whose reply is more than its result (readMediaRange) and the
 * event iterator.
 */

import type { EventEmitter } from "node:events";

import { SidecarError } from "./errors";
import { ProtocolMethods } from "./generated/methods";
import type * as P from "./protocol";

/** Inline bytes for addMediaItem: one buffer, or several frames concatenated in order. */
export type InlineBytes = Uint8Array | readonly Uint8Array[];

/** A reply with the binary payload frames that came after its envelope (signed with it). */
export interface CallReply<K extends P.MethodName> {
  result: P.ResultOf<K>;
  payloads: Uint8Array[];
}

/** readMediaRange's result with its bytes (the reply's payload frame). */
export type MediaRange = P.ReadMediaRangeResult & { bytes: Uint8Array };

export interface CallOptions {
  /**
   * Reject with `timeout` when no reply came within this many ms. Download calls have no total
   * timeout unless one is given here: they time out on inactivity instead (`inactivityMs`).
   */
  timeoutMs?: number;
  /**
   * Download calls (addMediaItem with `download: true`, downloadUrlOnlyItem,
   * downloadAllUrlOnly): reject with `timeout` when no `downloadProgress` (or item event) of the
   * call's download came for this many ms. Default `DOWNLOAD_INACTIVITY_MS`, clamped to
   * `MIN_INACTIVITY_MS`..`MAX_INACTIVITY_MS`. Needs the client to be subscribed to
   * downloadProgress (the Supervisor subscribes to every event by default); otherwise the
   * call falls back to `LONG_TIMEOUT_MS` in total.
   */
  inactivityMs?: number;
  /** Binary payload frames (only methods that accept them). */
  payloads?: InlineBytes;
}

/** Default timeouts: long for methods that move bytes, short for the rest. */
export const DEFAULT_TIMEOUT_MS = 30_000;
export const LONG_TIMEOUT_MS = 15 * 60_000;
/** A download call with no progress for this long is given up (`timeout`). */
export const DOWNLOAD_INACTIVITY_MS = 60_000;
export const MIN_INACTIVITY_MS = 1_000;
export const MAX_INACTIVITY_MS = 30 * 60_000;
const LONG_METHODS: ReadonlySet<P.MethodName> = new Set<P.MethodName>([
  "addMediaItem",
  "retrySaveItem",
  "retryAllUnsaved",
  "downloadUrlOnlyItem",
  "downloadAllUrlOnly",
]);

export function defaultTimeoutMs(method: P.MethodName, params: unknown): number {
  if (LONG_METHODS.has(method)) return LONG_TIMEOUT_MS;
  if (method === "shutdown") {
    const drain = (params as P.ShutdownParams | undefined)?.drainTimeoutMs ?? 10_000;
    return drain + 5_000;
  }
  return DEFAULT_TIMEOUT_MS;
}

export function clampInactivityMs(ms: number | undefined): number {
  const value = ms === undefined || !Number.isFinite(ms) ? DOWNLOAD_INACTIVITY_MS : ms;
  return Math.min(MAX_INACTIVITY_MS, Math.max(MIN_INACTIVITY_MS, value));
}

/**
 * For a download call: which events show that its download is alive (a `downloadProgress`
 * or an item event of its item; of its project when the sidecar chooses the id or the call
 * downloads a whole project). `null` for every other call.
 */
export function downloadActivity(method: P.MethodName, params: unknown): ((event: P.SidecarEvent) => boolean) | null {
  const p = (params ?? {}) as { id?: string | null; projectId?: string | null; download?: boolean };
  let id: string | null = null;
  let project: string | null = null;
  if (method === "addMediaItem") {
    if (p.download !== true) return null;
    id = p.id ?? null;
    project = p.projectId ?? null;
  } else if (method === "downloadUrlOnlyItem") {
    id = p.id ?? null;
  } else if (method === "downloadAllUrlOnly") {
    project = p.projectId ?? null;
  } else {
    return null;
  }
  return (event) => {
    const data = event.data as { id?: string; projectId?: string; item?: { id: string; projectId: string } };
    const eventId = data.item?.id ?? data.id;
    const eventProject = data.item?.projectId ?? data.projectId;
    return id !== null ? eventId === id : eventProject === project;
  };
}

/** The listener signatures of the emitters (`client.on("itemSaved", ...)` etc.). */
export type ApiEventMap = {
  [E in P.EventName]: [data: P.Events[E], meta: { seq: number; ts: number }];
} & {
  /** Every protocol event, as one object. */
  event: [event: P.SidecarEvent];
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the constraint of node:events own EventMap
export abstract class MediaStoreApi<M extends Record<keyof M, any[]> = ApiEventMap> extends ProtocolMethods<M> {
  /**
   * Bytes `[offset, offset+length)` of an item, wherever they are (main process only). The
   * reply's payload frame is covered by its signature; a reply whose bytes do not match its
   * `length` rejects with `bad_reply`.
   */
  override async readMediaRange(params: P.ReadMediaRangeParams, options?: CallOptions): Promise<MediaRange> {
    const { result, payloads } = await this.callWithPayloads("readMediaRange", params, options);
    const bytes = payloads.length === 1 ? payloads[0]! : Buffer.concat(payloads);
    if (bytes.byteLength !== result.length || result.offset !== params.offset || result.length > params.length) {
      throw new SidecarError("bad_reply", `readMediaRange answered ${bytes.byteLength} bytes for offset ${result.offset}, length ${result.length}`, {
        method: "readMediaRange",
      });
    }
    return { ...result, bytes };
  }

  /** Every protocol event as an async iterator; ends when `signal` aborts. */
  events(options: { signal?: AbortSignal; maxBuffered?: number } = {}): AsyncIterableIterator<P.SidecarEvent> {
    return eventIterator(this as unknown as EventEmitter<ApiEventMap>, options);
  }
}

/** A buffered async iterator over an emitter's "event" events. */
function eventIterator(
  emitter: EventEmitter<ApiEventMap>,
  { signal, maxBuffered = 10_000 }: { signal?: AbortSignal; maxBuffered?: number },
): AsyncIterableIterator<P.SidecarEvent> {
  const buffer: P.SidecarEvent[] = [];
  let waiting: ((r: IteratorResult<P.SidecarEvent>) => void) | null = null;
  let done = false;

  const onEvent = (ev: P.SidecarEvent): void => {
    if (waiting) {
      const w = waiting;
      waiting = null;
      w({ value: ev, done: false });
    } else {
      // A consumer that stopped reading must not grow memory without bound; the events'
      // `seq` gap tells it that it missed some (re-list, as after a socket drop).
      if (buffer.length >= maxBuffered) buffer.shift();
      buffer.push(ev);
    }
  };
  const finish = (): IteratorResult<P.SidecarEvent> => {
    if (!done) {
      done = true;
      emitter.off("event", onEvent);
      signal?.removeEventListener("abort", onAbort);
    }
    if (waiting) {
      const w = waiting;
      waiting = null;
      w({ value: undefined, done: true });
    }
    return { value: undefined, done: true };
  };
  const onAbort = (): void => void finish();

  emitter.on("event", onEvent);
  if (signal?.aborted) finish();
  else signal?.addEventListener("abort", onAbort, { once: true });

  return {
    next(): Promise<IteratorResult<P.SidecarEvent>> {
      const head = buffer.shift();
      if (head !== undefined) return Promise.resolve({ value: head, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return(): Promise<IteratorResult<P.SidecarEvent>> {
      return Promise.resolve(finish());
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
