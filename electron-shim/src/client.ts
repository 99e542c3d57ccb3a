/**
 * The client of one sidecar connection: a zeromq DEALER socket, one reader loop, a map of
 * pending requests each with its own timeout, signatures checked both ways.
 *
 * What it owns: the socket and the pending map. It never spawns or restarts anything
 * (supervisor.ts does), and it never retries a request: a failed call rejects with a
 * `SidecarError` and the caller decides.
 */

import { randomBytes } from "node:crypto";

import { Dealer } from "zeromq";

import {
  type ApiEventMap,
  type CallOptions,
  type CallReply,
  type InlineBytes,
  MediaStoreApi,
  clampInactivityMs,
  defaultTimeoutMs,
  downloadActivity,
} from "./api";
import { DecodeError, type ErrorEnvelope, type EventEnvelope, type ReplyEnvelope, checkServerEnvelope, encodeEnvelope, unpackEnvelope } from "./codec";
import { SidecarError, toSidecarError } from "./errors";
import { type Logger, silentLogger } from "./logger";
import * as P from "./protocol";
import { payloadDigest, sign, verify } from "./signing";

export interface ClientOptions {
  /** The endpoint of the ready line / connection file (`ipc://...` or `tcp://127.0.0.1:port`). */
  endpoint: string;
  /** The shared secret: the HMAC key is its UTF-8 bytes (as the sidecar reads it). */
  secret: string | Uint8Array;
  /** Sent in hello. */
  clientInfo?: P.ClientInfo;
  logger?: Logger;
  /** Overrides the per-method default timeout of every call. */
  timeoutMs?: number;
  /** Timeout of the hello exchange. */
  helloTimeoutMs?: number;
  /** Largest payload frame sent; bigger inline bytes are split (the server concatenates). */
  maxChunkBytes?: number;
  /** A debugging and validation hook: sees every envelope on the wire (see `MessageObserver`). */
  onMessage?: MessageObserver;
}

/**
 * Sees every envelope a client exchanges, for logging, tracing or checking the protocol (the
 * shim's tests validate each one against protocol/schema/). Called synchronously with:
 * - `"send"`: each request, decoded back from the bytes about to be sent (so exactly what the
 *   server will read: optional params left `undefined` are absent);
 * - `"receive"`: each message from the server whose signature verified, as decoded from msgpack,
 *   before the client checks its shape (so a malformed envelope is seen too).
 * `payloadBytes` are the sizes of the binary frames after the envelope. The envelope must not be
 * modified. An observer that throws is logged and otherwise ignored. While one is set, every
 * request costs one extra msgpack decode.
 */
export type MessageObserver = (direction: "send" | "receive", envelope: unknown, meta: { payloadBytes: number[] }) => void;

/** Something the server sent that matched no pending request, or broke the protocol. */
export interface StrayMessage {
  reason: "unknown-id" | "late-reply" | "null-id-error" | "bad-signature" | "bad-envelope" | "bad-frames";
  id?: string | null;
  detail: string;
}

export type ClientEventMap = ApiEventMap & {
  /** A message that could not be matched to a request (logged too). */
  stray: [stray: StrayMessage];
  /** Events were lost (the server's high-water mark): re-list what is on screen. */
  gap: [info: { expected: number; got: number }];
  /** The client closed; pending calls were rejected with `reason`. */
  closed: [reason: SidecarError];
};

interface Pending {
  method: P.MethodName;
  resolve: (reply: CallReply<never>) => void;
  reject: (err: SidecarError) => void;
  /** The total timeout (none for a download call watched for inactivity). */
  timer: NodeJS.Timeout | null;
  /** A download call: its inactivity timer, re-armed by every event of its download. */
  idle?: { timer: NodeJS.Timeout | null; matches: (event: P.SidecarEvent) => boolean; rearm: () => void };
}

function clearTimers(p: Pending): void {
  if (p.timer) clearTimeout(p.timer);
  if (p.idle?.timer) clearTimeout(p.idle.timer);
}

const DEFAULT_MAX_ENVELOPE = 1024 * 1024; // until hello announces the server's limits
const LATE_IDS_KEPT = 1_000;

export class SidecarClient extends MediaStoreApi<ClientEventMap> {
  /** Open a connection and perform hello; rejects with `SidecarError` if hello fails. */
  static async connect(options: ClientOptions): Promise<SidecarClient> {
    const client = new SidecarClient(options);
    try {
      await client.hello();
    } catch (err) {
      client.close(toSidecarError(err, "start_failed"));
      throw err;
    }
    return client;
  }

  /** The server's hello reply (limits, methods, events, session). */
  get helloResult(): P.HelloResult {
    if (!this.helloReply) throw new SidecarError("not_ready", "hello has not completed");
    return this.helloReply;
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private readonly socket: Dealer;
  private readonly key: Buffer;
  private readonly log: Logger;
  private readonly idPrefix = randomBytes(4).toString("hex");
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly lateIds = new Set<string>();
  private sendChain: Promise<void> = Promise.resolve();
  private helloReply: P.HelloResult | null = null;
  private lastSeq = 0;
  /** The events this connection receives (null: not subscribed). */
  private subscribed: { all: boolean; names: ReadonlySet<string> } | null = null;
  private closeReason: SidecarError | null = null;
  private readonly readerDone: Promise<void>;

  private constructor(private readonly options: ClientOptions) {
    super();
    this.key = typeof options.secret === "string" ? Buffer.from(options.secret, "utf8") : Buffer.from(options.secret);
    this.log = options.logger ?? silentLogger;
    this.socket = new Dealer({ linger: 0 });
    this.socket.connect(options.endpoint);
    this.readerDone = this.readLoop();
  }

  override async call<K extends P.MethodName>(
    method: K,
    params: P.ParamsOf<K>,
    options: CallOptions = {},
  ): Promise<P.ResultOf<K>> {
    return (await this.callWithPayloads(method, params, options)).result;
  }

  override async callWithPayloads<K extends P.MethodName>(
    method: K,
    params: P.ParamsOf<K>,
    options: CallOptions = {},
  ): Promise<CallReply<K>> {
    if (method === "hello" && this.helloReply) {
      throw new SidecarError("invalid_request", "hello is performed once, by connect()", { method });
    }
    return this.request(method, params, options);
  }

  /**
   * Close the socket. Every pending call is rejected with `reason` (default: `client_closed`);
   * calls made afterwards reject at once.
   */
  close(reason: SidecarError = new SidecarError("client_closed", "the client was closed")): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    for (const [id, p] of this.pending) {
      clearTimers(p);
      this.pending.delete(id);
      p.reject(toSidecarError(reason, "client_closed", p.method));
    }
    this.socket.close();
    this.emit("closed", reason);
  }

  /** Resolves once the reader loop has ended (after close()). */
  whenClosed(): Promise<void> {
    return this.readerDone;
  }

  // ------------------------------------------------------------------ internals

  private async hello(): Promise<void> {
    const params: P.HelloParams = { protocol: P.PROTOCOL_VERSION };
    if (this.options.clientInfo) params.client = this.options.clientInfo;
    const { result } = await this.request("hello", params, { timeoutMs: this.options.helloTimeoutMs ?? 10_000 });
    const major = P.majorOf(result.protocol);
    if (major !== P.majorOf(P.PROTOCOL_VERSION)) {
      throw new SidecarError("version_mismatch", `server speaks protocol ${result.protocol}, client ${P.PROTOCOL_VERSION}`, {
        method: "hello",
      });
    }
    this.helloReply = result;
  }

  private request<K extends P.MethodName>(method: K, params: P.ParamsOf<K>, options: CallOptions): Promise<CallReply<K>> {
    if (this.closeReason) return Promise.reject(toSidecarError(this.closeReason, "client_closed", method));
    let frames: Uint8Array[];
    let envelope: Uint8Array;
    const id = `${this.idPrefix}-${this.nextId++}`;
    try {
      frames = this.payloadFrames(method, options.payloads);
      envelope = encodeEnvelope({ type: "request", id, method, params: params as Record<string, unknown>, ts: Date.now() });
      const maxEnvelope = this.helloReply?.limits.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE;
      if (envelope.byteLength > maxEnvelope) {
        throw new SidecarError("payload_too_large", `envelope of ${envelope.byteLength} bytes exceeds ${maxEnvelope}`, {
          method,
          field: "params",
        });
      }
    } catch (err) {
      return Promise.reject(toSidecarError(err, "invalid_params", method));
    }
    this.observe("send", envelope, frames);
    const signature = sign(this.key, envelope, frames, payloadDigest(frames));
    // A download call is given up when its download shows no sign of life for `inactivityMs`
    // (it may run for hours); a total timeout applies only when one is asked for. A client
    // that does not receive downloadProgress cannot watch, and keeps the long total timeout.
    const activity = downloadActivity(method, params);
    const watch = activity !== null && this.receives("downloadProgress") ? activity : null;
    const explicitMs = options.timeoutMs ?? this.options.timeoutMs;
    const timeoutMs = explicitMs ?? (watch ? null : defaultTimeoutMs(method, params));

    return new Promise<CallReply<K>>((resolve, reject) => {
      const expire = (why: string): void => {
        const p = this.pending.get(id);
        if (!p) return;
        clearTimers(p);
        this.pending.delete(id);
        this.rememberLate(id);
        reject(new SidecarError("timeout", `${method} ${why}`, { method }));
      };
      const timer = timeoutMs === null ? null : setTimeout(() => expire(`got no reply within ${timeoutMs} ms`), timeoutMs);
      const pending: Pending = { method, resolve: resolve as (r: CallReply<never>) => void, reject, timer };
      if (watch) {
        const ms = clampInactivityMs(options.inactivityMs);
        const idle: NonNullable<Pending["idle"]> = {
          timer: null,
          matches: watch,
          rearm: () => {
            if (idle.timer) clearTimeout(idle.timer);
            idle.timer = setTimeout(() => expire(`saw no progress of its download for ${ms} ms`), ms);
          },
        };
        idle.rearm();
        pending.idle = idle;
      }
      this.pending.set(id, pending);
      this.enqueueSend([signature, envelope, ...frames], id);
    });
  }

  /** Whether this connection receives events called `name`. */
  private receives(name: string): boolean {
    return this.subscribed !== null && (this.subscribed.all || this.subscribed.names.has(name));
  }

  /** An event of a watched download: its call is alive, re-arm the inactivity timer. */
  private touch(event: P.SidecarEvent): void {
    for (const p of this.pending.values()) {
      if (p.idle?.matches(event)) p.idle.rearm();
    }
  }

  /** zeromq.js allows one send in progress per socket: sends are chained. */
  private enqueueSend(message: Uint8Array[], id: string): void {
    this.sendChain = this.sendChain.then(async () => {
      if (this.closeReason) return; // close() already rejected the call
      try {
        await this.socket.send(message);
      } catch (err) {
        const p = this.pending.get(id);
        if (!p) return;
        clearTimers(p);
        this.pending.delete(id);
        p.reject(
          this.closeReason
            ? toSidecarError(this.closeReason, "client_closed", p.method)
            : new SidecarError("client_closed", `sending ${p.method} failed: ${String(err)}`, { method: p.method, cause: err }),
        );
      }
    });
  }

  private payloadFrames(method: P.MethodName, payloads: InlineBytes | undefined): Uint8Array[] {
    if (payloads === undefined) return [];
    if (!P.PAYLOAD_METHODS.has(method)) {
      throw new SidecarError("invalid_params", `${method} takes no binary payload`, { method, field: "payloads" });
    }
    const parts: readonly Uint8Array[] = payloads instanceof Uint8Array ? [payloads] : payloads;
    const limits = this.helloReply?.limits;
    const chunk = Math.min(this.options.maxChunkBytes ?? 64 * 1024 * 1024, limits?.maxFrameBytes ?? Infinity);
    const frames: Uint8Array[] = [];
    for (const part of parts) {
      if (!(part instanceof Uint8Array)) {
        throw new SidecarError("invalid_params", "payload frames must be Uint8Array/Buffer", { method, field: "payloads" });
      }
      for (let at = 0; at < part.byteLength; at += chunk) {
        frames.push(part.subarray(at, Math.min(at + chunk, part.byteLength)));
      }
      if (part.byteLength === 0) frames.push(part);
    }
    if (limits && frames.length > limits.maxFrames) {
      throw new SidecarError("payload_too_large", `${frames.length} payload frames exceed maxFrames ${limits.maxFrames}`, {
        method,
        field: "payloads",
      });
    }
    return frames;
  }

  private async readLoop(): Promise<void> {
    try {
      for await (const message of this.socket) {
        this.receive(message);
      }
    } catch (err) {
      if (!this.closeReason) {
        this.log.error(`media-sidecar client: reader loop failed: ${String(err)}`);
        this.close(new SidecarError("client_closed", `the reader loop failed: ${String(err)}`, { cause: err }));
      }
    }
  }

  private receive(message: Buffer[]): void {
    const [signature, envelope, ...payloads] = message;
    if (signature === undefined || envelope === undefined) {
      this.stray({ reason: "bad-frames", detail: `a message of ${message.length} frame(s)` });
      return;
    }
    if (!verify(this.key, signature, envelope, payloads)) {
      this.stray({ reason: "bad-signature", detail: "a message whose signature does not verify was dropped" });
      return;
    }
    let env;
    try {
      const decoded = unpackEnvelope(envelope, this.helloReply?.limits.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE);
      this.notify("receive", decoded, payloads);
      env = checkServerEnvelope(decoded);
    } catch (err) {
      this.stray({ reason: "bad-envelope", detail: err instanceof DecodeError ? err.message : String(err) });
      return;
    }
    switch (env.type) {
      case "reply":
      case "error":
        // The payload frames were covered by the signature verified above, like a request's.
        this.settle(env, payloads);
        return;
      case "event":
        this.dispatchEvent(env);
        return;
    }
  }

  private settle(env: ReplyEnvelope | ErrorEnvelope, payloads: Uint8Array[]): void {
    if (env.id === null) {
      // The server could not read an id from one of our messages: no call can be matched.
      const body = (env as ErrorEnvelope).error;
      this.stray({ reason: "null-id-error", id: null, detail: `${body.code}: ${body.message}` });
      return;
    }
    const p = this.pending.get(env.id);
    if (!p) {
      const late = this.lateIds.has(env.id);
      this.stray({
        reason: late ? "late-reply" : "unknown-id",
        id: env.id,
        detail: late ? "a reply arrived after its call timed out" : `a ${env.type} for no pending request`,
      });
      return;
    }
    clearTimers(p);
    this.pending.delete(env.id);
    if (env.type === "reply") p.resolve({ result: env.result as never, payloads });
    else p.reject(SidecarError.fromBody(env.error, p.method));
  }

  private dispatchEvent(env: EventEnvelope): void {
    if (this.lastSeq !== 0 && env.seq !== this.lastSeq + 1) {
      this.log.warn(`media-sidecar client: event seq ${env.seq} after ${this.lastSeq}: events were dropped`);
      this.emit("gap", { expected: this.lastSeq + 1, got: env.seq });
    }
    this.lastSeq = env.seq;
    if (!P.isEventName(env.event)) {
      this.log.debug(`media-sidecar client: ignoring unknown event ${env.event}`);
      return;
    }
    // The data is not checked here: the server owns its events' shapes (the integration tests
    // validate every one against protocol/schema/), and clients must tolerate added fields.
    const event = { name: env.event, seq: env.seq, ts: env.ts, data: env.data } as unknown as P.SidecarEvent;
    this.touch(event);
    // Listener errors must not kill the reader loop (EventEmitter rethrows them synchronously).
    try {
      this.emit("event", event);
      (this.emit as (n: string, d: unknown, m: unknown) => boolean)(event.name, event.data, { seq: event.seq, ts: event.ts });
    } catch (err) {
      this.log.error(`media-sidecar client: an event listener threw: ${String(err)}`);
    }
  }

  /** Subscribe-result seq: the next event is expected at seq + 1. */
  override async subscribe(params: P.SubscribeParams = {}, options?: CallOptions): Promise<P.SubscribeResult> {
    const result = await this.call("subscribe", params, options);
    this.lastSeq = result.seq;
    this.subscribed = { all: result.events.length === 0, names: new Set(result.events) };
    return result;
  }

  override async unsubscribe(options?: CallOptions): Promise<P.UnsubscribeResult> {
    const result = await this.call("unsubscribe", {}, options);
    this.subscribed = null;
    return result;
  }

  private observe(direction: "send", envelope: Uint8Array, payloads: readonly Uint8Array[]): void {
    if (!this.options.onMessage) return;
    let decoded: unknown;
    try {
      decoded = unpackEnvelope(envelope, Infinity);
    } catch (err) {
      this.log.warn(`media-sidecar client: could not decode an envelope for onMessage: ${String(err)}`);
      return;
    }
    this.notify(direction, decoded, payloads);
  }

  private notify(direction: "send" | "receive", envelope: unknown, payloads: readonly Uint8Array[]): void {
    const observer = this.options.onMessage;
    if (!observer) return;
    try {
      observer(direction, envelope, { payloadBytes: payloads.map((p) => p.byteLength) });
    } catch (err) {
      this.log.warn(`media-sidecar client: the onMessage observer threw: ${String(err)}`);
    }
  }

  private stray(s: StrayMessage): void {
    const level = s.reason === "late-reply" ? "info" : "warn";
    this.log[level](`media-sidecar client: stray message (${s.reason}${s.id ? ` id=${s.id}` : ""}): ${s.detail}`);
    this.emit("stray", s);
  }

  private rememberLate(id: string): void {
    this.lateIds.add(id);
    if (this.lateIds.size > LATE_IDS_KEPT) {
      const first = this.lateIds.values().next();
      if (!first.done) this.lateIds.delete(first.value);
    }
  }
}
