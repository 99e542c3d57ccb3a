/**
 * What src/protocol.ts exports (the shim's names for the generated types) against the schema
 * index exported from the models (protocol/schema/index.json): methods, events, error codes,
 * version; and the renderer's share of the methods. The generated file itself is checked
 * byte for byte by generated-types.test.ts.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ERROR_CODES, EVENT_NAMES, METHOD_NAMES, PAYLOAD_METHODS, PROTOCOL_VERSION } from "../src/protocol";
import { MEDIA_STORE_METHODS } from "../src/preload";
import { RENDERER_METHODS } from "../src/validate";
import { schemaIndex } from "./support/schema";

describe("src/protocol.ts matches the protocol's schema index", () => {
  const index = schemaIndex();

  test("the protocol version", () => {
    assert.equal(PROTOCOL_VERSION, index.protocolVersion);
  });

  test("every method, in registry order", () => {
    assert.deepEqual([...METHOD_NAMES], Object.keys(index.methods));
  });

  test("the methods that take binary payload frames", () => {
    const withPayloads = Object.entries(index.methods).filter(([, m]) => m.payloads).map(([n]) => n);
    assert.deepEqual([...PAYLOAD_METHODS].sort(), withPayloads.sort());
  });

  test("every event", () => {
    assert.deepEqual([...EVENT_NAMES], Object.keys(index.events));
  });

  test("every error code", () => {
    assert.deepEqual([...ERROR_CODES], Object.keys(index.errorCodes));
  });

  test("the renderer gets the store's methods, never the session or test-only ones", () => {
    assert.deepEqual([...MEDIA_STORE_METHODS], RENDERER_METHODS, "the preload and the bridge agree");
    for (const m of RENDERER_METHODS) assert.ok(m in index.methods, `${m} is a protocol method`);
    for (const m of ["hello", "shutdown", "subscribe", "unsubscribe", "testFault"]) {
      assert.ok(!(RENDERER_METHODS as string[]).includes(m), `${m} is not exposed to the renderer`);
    }
    for (const [name, m] of Object.entries(index.methods)) if (m.testOnly) assert.ok(!(RENDERER_METHODS as string[]).includes(name));
  });
});
