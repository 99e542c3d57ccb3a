/**
 * SidecarClient against a fake peer on a real zeromq socket: correlation by id, per-request
 * timeouts, errors as SidecarError, signatures both ways, stray replies reported, events.
 * (The real sidecar is exercised in integration.test.ts.)
 */

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";

import { SidecarClient, type StrayMessage } from "../src/client";
import { SidecarError } from "../src/errors";
import type { Logger } from "../src/logger";
import { ErrorCode, MediaType, type SidecarEvent } from "../src/protocol";
import { payloadDigest } from "../src/signing";
import { FakePeer, type Incoming } from "./support/fake-peer";
import { WAIT_MS, onceWithin, within } from "./support/wait";

const SECRET = "client-test-secret-0123456789";
const KEY = Buffer.from(SECRET, "utf8");

let peer: FakePeer;
let client: SidecarClient | null = null;
let logged: string[] = [];
const logger: Logger = {
  debug: (m) => void logged.push(`debug ${m}`),
  info: (m) => void logged.push(`info ${m}`),
  warn: (m) => void logged.push(`warn ${m}`),
  error: (m) => void logged.push(`error ${m}`),
};

async function connect(): Promise<SidecarClient> {
  client = await SidecarClient.connect({ endpoint: peer.endpoint, secret: SECRET, logger });
  return client;
}

/** Resolves with the next message the peer receives that is not hello. */
function nextRequest(): Promise<Incoming> {
  return within(new Promise((resolve) => {
    peer.handler = (msg) => resolve(msg);
  }), WAIT_MS, "the next request at the peer");
}

async function rejection(p: Promise<unknown>): Promise<SidecarError> {
  try {
    await within(p, WAIT_MS, "the call's rejection");
  } catch (err) {
    assert.ok(err instanceof SidecarError, `a SidecarError, got ${String(err)}`);
    return err;
  }
  assert.fail("did not reject");
}

beforeEach(async () => {
  logged = [];
  peer = new FakePeer(KEY);
  await peer.start();
});

afterEach(() => {
  client?.close();
  client = null;
  peer.close();
});

describe("SidecarClient", () => {
  test("connect() performs hello, signed and with the client's protocol version", async () => {
    const c = await connect();
    const hello = peer.received[0];
    assert.equal(hello?.envelope.method, "hello");
    assert.equal(hello?.signatureOk, true);
    assert.equal(hello?.envelope.params["protocol"], "1.0.0");
    assert.equal(typeof hello?.envelope.ts, "number");
    assert.equal(c.helloResult.session, "s1");
  });

  test("replies are matched to their calls by id, whatever their order", async () => {
    const c = await connect();
    const held: Incoming[] = [];
    peer.handler = (msg, p) => {
      held.push(msg);
      if (held.length === 3) for (const m of held.reverse()) p.reply(m, { echo: m.envelope.params["id"] });
    };
    const results = await Promise.all(["a", "b", "c"].map((id) => c.getMediaItem({ id })));
    assert.deepEqual(results, [{ echo: "a" }, { echo: "b" }, { echo: "c" }]);
    assert.equal(c.pendingCount, 0);
  });

  test("an error reply rejects with a SidecarError carrying code, message and field", async () => {
    const c = await connect();
    peer.handler = (msg, p) => p.error(msg, "invalid_params", "params.projectId: bad", "params.projectId");
    const err = await rejection(c.listMediaItems({ projectId: "x" }));
    assert.equal(err.code, ErrorCode.invalid_params);
    assert.equal(err.message, "params.projectId: bad");
    assert.equal(err.field, "params.projectId");
    assert.equal(err.method, "listMediaItems");
  });

  test("a call with no reply rejects with `timeout`; its late reply is reported as stray", async () => {
    const c = await connect();
    const request = nextRequest();
    const err = await rejection(c.ping({ timeoutMs: 50 }));
    assert.equal(err.code, "timeout");
    const msg = await request;
    const stray = onceWithin(c, "stray");
    peer.reply(msg, { pong: true });
    const [s] = (await stray) as [StrayMessage];
    assert.equal(s.reason, "late-reply");
    assert.equal(s.id, msg.envelope.id);
  });

  test("a reply for no pending request is reported (event and log), not dropped silently", async () => {
    const c = await connect();
    const stray = onceWithin(c, "stray");
    peer.send(peer.received[0]!.identity, { type: "reply", id: "nobody-asked", result: {}, ts: Date.now() });
    const [s] = (await stray) as [StrayMessage];
    assert.equal(s.reason, "unknown-id");
    assert.ok(logged.some((l) => l.startsWith("warn") && l.includes("nobody-asked")));
  });

  test("an error with a null id is reported as stray", async () => {
    const c = await connect();
    const stray = onceWithin(c, "stray");
    peer.send(peer.received[0]!.identity, { type: "error", id: null, error: { code: "invalid_request", message: "bad msgpack" }, ts: Date.now() });
    const [s] = (await stray) as [StrayMessage];
    assert.equal(s.reason, "null-id-error");
    assert.match(s.detail, /invalid_request/);
  });

  test("a reply with a wrong server signature is dropped and reported; the call is not resolved by it", async () => {
    const c = await connect();
    peer.handler = (msg, p) => p.reply(msg, { pong: true }, Buffer.from("wrong-key"));
    const stray = onceWithin(c, "stray");
    const call = c.ping({ timeoutMs: 2_000 });
    const [s] = (await stray) as [StrayMessage];
    assert.equal(s.reason, "bad-signature");
    assert.equal((await rejection(call)).code, "timeout");
  });

  test("reply payload frames are signed like request payloads: readMediaRange hands them over as bytes", async () => {
    const c = await connect();
    const ref = { projectId: "p", id: "i" };
    const result = { offset: 5, length: 5, size: 10, sha256: "a".repeat(64) };
    peer.handler = (msg, p) => p.replyWithPayloads(msg, result, [Buffer.from("hello")]);
    const range = await c.readMediaRange({ ...ref, offset: 5, length: 5 });
    assert.equal(Buffer.from(range.bytes).toString(), "hello");
    assert.equal(range.size, 10);
    const raw = await c.callWithPayloads("readMediaRange", { ...ref, offset: 5, length: 5 });
    assert.deepEqual(raw.payloads.map((b) => Buffer.from(b).toString()), ["hello"]);

    // a frame altered on the way (signed over "hello", "jello" arrives): dropped, never handed out
    peer.handler = (msg, p) => p.replyWithPayloads(msg, result, [Buffer.from("jello")], [Buffer.from("hello")]);
    const stray = onceWithin(c, "stray");
    const altered = c.readMediaRange({ ...ref, offset: 5, length: 5 }, { timeoutMs: 1_000 });
    assert.equal(((await stray) as [StrayMessage])[0].reason, "bad-signature");
    assert.equal((await rejection(altered)).code, "timeout");

    // a signed reply whose bytes contradict its length: bad_reply
    peer.handler = (msg, p) => p.replyWithPayloads(msg, result, [Buffer.from("hell")]);
    assert.equal((await rejection(c.readMediaRange({ ...ref, offset: 5, length: 5 }))).code, "bad_reply");
  });

  test("close() rejects every pending call with `client_closed`, and later calls at once", async () => {
    const c = await connect();
    const received = nextRequest();
    const pending = c.ping();
    await received;
    c.close();
    assert.equal((await rejection(pending)).code, "client_closed");
    assert.equal((await rejection(c.ping())).code, "client_closed");
    await c.whenClosed();
  });

  test("close(reason) passes the reason to pending calls (how the supervisor reports a crash)", async () => {
    const c = await connect();
    const received = nextRequest();
    const pending = c.storageStatus();
    await received;
    c.close(new SidecarError("sidecar_exited", "the sidecar exited with signal SIGKILL"));
    const err = await rejection(pending);
    assert.equal(err.code, "sidecar_exited");
    assert.equal(err.method, "storageStatus");
  });

  test("inline bytes travel as signed binary frames, split at maxChunkBytes, never inside msgpack", async () => {
    client = await SidecarClient.connect({ endpoint: peer.endpoint, secret: SECRET, maxChunkBytes: 4 });
    const received = nextRequest();
    const bytes = Buffer.from("0123456789");
    const call = client.addMediaItem({ projectId: "p", name: "n", type: MediaType.image }, [bytes, new Uint8Array([65, 66])]);
    const msg = await received;
    assert.equal(msg.signatureOk, true);
    assert.deepEqual(msg.payloads.map((p) => p.toString()), ["0123", "4567", "89", "AB"]);
    assert.equal(JSON.stringify(msg.envelope).includes("0123"), false);
    assert.equal(payloadDigest(msg.payloads).toString("hex"), payloadDigest([Buffer.from("0123456789AB")]).toString("hex"));
    peer.reply(msg, { created: true });
    assert.deepEqual(await call, { created: true });
  });

  test("only addMediaItem takes bytes; too many frames are refused before sending", async () => {
    const c = await connect();
    const err = await rejection(c.call("ping", {}, { payloads: new Uint8Array(1) }));
    assert.equal(err.code, ErrorCode.invalid_params);
    const many = Array.from({ length: 65 }, () => new Uint8Array(1));
    assert.equal((await rejection(c.addMediaItem({ projectId: "p", name: "n", type: MediaType.image }, many))).code, ErrorCode.payload_too_large);
  });

  test("events arrive on the emitter (all and by name) and through the async iterator; a seq gap is reported", async () => {
    const c = await connect();
    const identity = peer.received[0]!.identity;
    const seen: SidecarEvent[] = [];
    const named: unknown[] = [];
    c.on("event", (e) => seen.push(e));
    c.on("itemRemoved", (data) => named.push(data));
    const iterator = c.events();
    const gap = onceWithin(c, "gap");
    peer.event(identity, "itemRemoved", 1, { id: "a", projectId: "p" });
    peer.event(identity, "itemRemoved", 3, { id: "b", projectId: "p" });
    const first = await iterator.next();
    const second = await iterator.next();
    assert.deepEqual([first.value?.name, second.value?.seq], ["itemRemoved", 3]);
    assert.deepEqual(await gap, [{ expected: 2, got: 3 }]);
    assert.deepEqual(named, [{ id: "a", projectId: "p" }, { id: "b", projectId: "p" }]);
    assert.equal(seen.length, 2);
    await iterator.return?.();
    assert.equal((await iterator.next()).done, true);
  });

  test("a listener that throws does not stop the reader loop", async () => {
    const c = await connect();
    const identity = peer.received[0]!.identity;
    c.on("itemRemoved", () => {
      throw new Error("listener bug");
    });
    peer.event(identity, "itemRemoved", 1, { id: "a", projectId: "p" });
    peer.handler = (msg, p) => p.reply(msg, { pong: true, time: 1, uptimeMs: 1 });
    assert.equal((await c.ping()).pong, true);
    assert.ok(logged.some((l) => l.includes("listener bug")));
  });

  test("a server speaking another major version is refused at hello", async () => {
    peer.close();
    peer = new FakePeer(KEY);
    await peer.start();
    const original = peer.reply.bind(peer);
    peer.reply = (msg, result, key) => original(msg, msg.envelope.method === "hello" ? { ...result, protocol: "2.0.0" } : result, key);
    const err = await rejection(SidecarClient.connect({ endpoint: peer.endpoint, secret: SECRET }));
    assert.equal(err.code, ErrorCode.version_mismatch);
  });
});

describe("SidecarClient's onMessage observer (the debugging and validation hook)", () => {
  type Seen = { direction: "send" | "receive"; envelope: Record<string, unknown>; payloadBytes: number[] };
  const observed = (): { seen: Seen[]; onMessage: (d: "send" | "receive", e: unknown, m: { payloadBytes: number[] }) => void } => {
    const seen: Seen[] = [];
    return { seen, onMessage: (direction, envelope, meta) => void seen.push({ direction, envelope: envelope as Record<string, unknown>, payloadBytes: meta.payloadBytes }) };
  };

  test("sees every envelope both ways as on the wire: undefined params absent, payload sizes, even a malformed reply", async () => {
    const { seen, onMessage } = observed();
    client = await SidecarClient.connect({ endpoint: peer.endpoint, secret: SECRET, logger, onMessage });
    const identity = peer.received[0]!.identity;
    peer.handler = (msg, p) => p.reply(msg, { created: true });
    await client.addMediaItem({ projectId: "p", name: "n", type: MediaType.image, mimeType: undefined }, [Buffer.from("abc"), Buffer.from("de")]);
    const stray = onceWithin(client, "stray");
    peer.send(identity, { type: "reply", id: "x", ts: 1 }); // no result: refused by the client's shape check
    await stray;
    assert.deepEqual(
      seen.map((s) => [s.direction, s.envelope["type"], s.envelope["method"] ?? null, s.payloadBytes]),
      [
        ["send", "request", "hello", []],
        ["receive", "reply", null, []],
        ["send", "request", "addMediaItem", [3, 2]],
        ["receive", "reply", null, []],
        ["receive", "reply", null, []],
      ],
    );
    assert.deepEqual(seen[2]?.envelope["params"], { projectId: "p", name: "n", type: MediaType.image }, "mimeType: undefined is not on the wire");
    assert.deepEqual(seen[4]?.envelope, { type: "reply", id: "x", ts: 1 });
  });

  test("an observer that throws is logged; calls and events go on", async () => {
    client = await SidecarClient.connect({
      endpoint: peer.endpoint,
      secret: SECRET,
      logger,
      onMessage: () => {
        throw new Error("observer bug");
      },
    });
    const identity = peer.received[0]!.identity;
    peer.handler = (msg, p) => p.reply(msg, { pong: true, time: 1, uptimeMs: 1 });
    const event = onceWithin(client, "itemRemoved");
    peer.event(identity, "itemRemoved", 1, { id: "a", projectId: "p" });
    assert.deepEqual((await event)[0], { id: "a", projectId: "p" });
    assert.equal((await client.ping()).pong, true);
    assert.ok(logged.some((l) => l.startsWith("warn") && l.includes("observer bug")));
  });
});
