/**
 * The test-side schema checker (support/wire-check.ts) that the integration tests plug into
 * the client: it passes what the protocol allows and reports each kind of violation.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { BytesState, ItemStatus, type MediaItem, MediaType, RecordState } from "../src/protocol";
import { WireCheck } from "./support/wire-check";

const ITEM: MediaItem = {
  id: "a",
  projectId: "p",
  name: "clip.webm",
  type: MediaType.video,
  mimeType: "video/webm",
  size: 3,
  sha256: "0".repeat(64),
  width: null,
  height: null,
  duration: 1.5,
  fps: null,
  sourceUrl: null,
  folderIds: [],
  createdAt: 1,
  updatedAt: 1,
  status: ItemStatus.saved,
  durable: true,
  bytesState: BytesState.durable,
  recordState: RecordState.stored,
  storageError: null,
  localPath: "/data/blobs/00/00",
  metadata: { prompt: "a cat" },
};

const request = (id: string, method: string, params: Record<string, unknown>): Record<string, unknown> => ({ type: "request", id, method, params, ts: 1 });
const reply = (id: string, result: unknown): Record<string, unknown> => ({ type: "reply", id, result, ts: 2 });
const error = (id: string | null, code: string): Record<string, unknown> => ({ type: "error", id, error: { code, message: "m", field: null, data: null }, ts: 2 });
const event = (name: string, data: unknown): Record<string, unknown> => ({ type: "event", event: name, seq: 1, data, ts: 3 });

function run(messages: ["send" | "receive", unknown][]): { check: WireCheck; violations: string[] } {
  const check = new WireCheck();
  for (const [direction, envelope] of messages) check.observe(direction, envelope, { payloadBytes: [] });
  return { check, violations: check.take() };
}

describe("WireCheck", () => {
  test("passes a conforming exchange and counts it", () => {
    const { check, violations } = run([
      ["send", request("1", "getMediaItem", { id: "a" })],
      ["receive", reply("1", { item: ITEM, extra: "servers may add fields" })],
      ["send", request("2", "getMediaItem", { id: "b", projectId: null })],
      ["receive", error("2", "not_found")],
      ["send", request("3", "ping", {})],
      ["receive", error("3", "busy")],
      ["receive", event("itemRemoved", { id: "a", projectId: "p", counts: null })],
      ["receive", error(null, "invalid_request")],
    ]);
    assert.deepEqual(violations, []);
    assert.equal(check.counts.messages, 8);
    assert.deepEqual(check.counts.received, { reply: 1, error: 3, event: 1 });
    assert.match(check.summary(), /^8 messages validated/);
  });

  const violation = (messages: ["send" | "receive", unknown][], expected: RegExp): void => {
    const { violations } = run(messages);
    assert.equal(violations.length, 1, violations.join("\n"));
    assert.match(violations[0] ?? "", expected);
  };

  test("params: an unknown field, a wrong type, a method the protocol does not have", () => {
    violation([["send", request("1", "getMediaItem", { id: "a", evil: 1 })]], /send getMediaItem params: \(root\) must NOT have additional properties/);
    violation([["send", request("1", "listMediaItems", { projectId: "p", limit: "10" })]], /\/limit must be integer/);
    violation([["send", request("1", "dropTables", {})]], /dropTables is not a protocol method/);
  });

  test("results: a missing field, a wrong enum value; an answer to no pending request", () => {
    const { localPath: _gone, ...withoutPath } = ITEM;
    violation([["send", request("1", "getMediaItem", { id: "a" })], ["receive", reply("1", { item: withoutPath })]], /receive getMediaItem result: \/item must have required property 'localPath'/);
    violation([["send", request("1", "getMediaItem", { id: "a" })], ["receive", reply("1", { item: { ...ITEM, status: "vanished" } })]], /\/item\/status must be equal to one of the allowed values/);
    violation([["receive", reply("never-sent", {})]], /never-sent, which is not a pending request/);
  });

  test("errors: a code the protocol does not have, one the method does not declare, a missing body field", () => {
    violation([["send", request("1", "ping", {})], ["receive", error("1", "oops")]], /must be equal to one of the allowed values/);
    violation([["send", request("1", "getMediaItem", { id: "a" })], ["receive", error("1", "storage_blocked")]], /getMediaItem answered storage_blocked, which index.json does not declare/);
    violation([["receive", { type: "error", id: null, error: { code: "internal", message: "m" }, ts: 1 }]], /must have required property 'field'/);
  });

  test("events and envelopes: wrong data, an unknown event, an extra envelope field, an unknown type", () => {
    violation([["receive", event("itemSaved", { item: { ...ITEM, size: 1.5 }, counts: null })]], /receive itemSaved data: \/item\/size must be integer/);
    violation([["receive", event("itemTeleported", {})]], /event itemTeleported is not in protocol\/schema\/index.json/);
    violation([["receive", { ...reply("1", {}), extra: 1 }]], /receive reply envelope: \(root\) must NOT have additional properties/);
    violation([["receive", { type: "hint", ts: 1 }]], /an envelope of type "hint"/);
  });
});
