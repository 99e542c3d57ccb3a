/**
 * A misbehaving fake sidecar for the client tests: a real zeromq ROUTER on loopback that
 * speaks the wire format (signed msgpack envelopes) but lets each test decide what to answer,
 * including what the real server never sends (unknown ids, bad signatures, late replies).
 */

import { decode, encode } from "@msgpack/msgpack";
import { Router } from "zeromq";

import { sign, verify } from "../../src/signing";

export interface Incoming {
  identity: Buffer;
  envelope: Record<string, unknown> & { id: string; method: string; params: Record<string, unknown> };
  payloads: Buffer[];
  signatureOk: boolean;
}

export type Handler = (msg: Incoming, peer: FakePeer) => void | Promise<void>;

export const HELLO_RESULT = {
  server: { name: "fake", version: "0" },
  protocol: "1.0.0",
  session: "s1",
  methods: ["hello", "ping", "addMediaItem"],
  events: ["itemAdded"],
  limits: { maxEnvelopeBytes: 1048576, maxFrameBytes: 1073741824, maxFrames: 64, maxInFlight: 32, maxInFlightServer: 64, maxMetadataBytes: 65536, maxDownloadBytes: 8589934592, replayWindowMs: 30000 },
  features: {},
  dataDir: "/tmp/fake",
};

export class FakePeer {
  readonly socket = new Router({ linger: 0 });
  readonly received: Incoming[] = [];
  endpoint = "";
  handler: Handler = () => undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(readonly key: Buffer) {}

  async start(): Promise<void> {
    await this.socket.bind("tcp://127.0.0.1:*");
    this.endpoint = this.socket.lastEndpoint ?? "";
    void this.loop();
  }

  private async loop(): Promise<void> {
    for await (const [identity, signature, envelope, ...payloads] of this.socket) {
      if (!identity || !signature || !envelope) continue;
      const msg: Incoming = {
        identity,
        envelope: decode(envelope) as Incoming["envelope"],
        payloads,
        signatureOk: verify(this.key, signature, envelope, payloads),
      };
      this.received.push(msg);
      if (msg.envelope.method === "hello") this.reply(msg, HELLO_RESULT);
      else await this.handler(msg, this);
    }
  }

  /**
   * Send an envelope, signed with `key` (default: the right one) over `signedPayloads`
   * (default: the payloads sent; anything else models frames altered on the way).
   */
  send(identity: Buffer, envelope: Record<string, unknown>, payloads: Buffer[] = [], key: Buffer = this.key, signedPayloads: Buffer[] = payloads): void {
    const packed = encode(envelope);
    const frames = [identity, sign(key, packed, signedPayloads), Buffer.from(packed), ...payloads];
    this.sending = this.sending.then(() => this.socket.send(frames));
  }

  reply(msg: Incoming, result: Record<string, unknown>, key?: Buffer): void {
    this.send(msg.identity, { type: "reply", id: msg.envelope.id, result, ts: Date.now() }, [], key);
  }

  /** A reply carrying binary payload frames after its envelope (readMediaRange). */
  replyWithPayloads(msg: Incoming, result: Record<string, unknown>, payloads: Buffer[], signedPayloads: Buffer[] = payloads): void {
    this.send(msg.identity, { type: "reply", id: msg.envelope.id, result, ts: Date.now() }, payloads, this.key, signedPayloads);
  }

  error(msg: Incoming, code: string, message: string, field: string | null = null): void {
    this.send(msg.identity, { type: "error", id: msg.envelope.id, error: { code, message, field }, ts: Date.now() });
  }

  event(identity: Buffer, event: string, seq: number, data: Record<string, unknown>): void {
    this.send(identity, { type: "event", event, seq, data, ts: Date.now() });
  }

  close(): void {
    this.socket.close();
  }
}
