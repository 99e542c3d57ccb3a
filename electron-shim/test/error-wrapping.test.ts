/**
 * `toSidecarError`, the one wrapping every layer uses to pass a failure on (client, ready
 * gate, supervisor): a server's error keeps its code, field and data wherever it travels.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SidecarError, toSidecarError } from "../src/errors";

const T = { timeout: 5_000 };

describe("toSidecarError", () => {
  const server = SidecarError.fromBody({ code: "conflict", message: "nothing to retry", field: "params.id", data: { itemId: "i1", status: "saved" } }, null);

  test("a SidecarError keeps code, message, field, data and cause, and is tagged with the method of the call", T, () => {
    const tagged = toSidecarError(server, "internal", "retrySaveItem");
    assert.deepEqual(tagged.toJSON(), server.toJSON());
    assert.equal(tagged.method, "retrySaveItem");
    assert.equal(toSidecarError(tagged, "internal", "retrySaveItem"), tagged, "already tagged: the same object");
    assert.equal(toSidecarError(server, "internal"), server, "no method: the same object");
  });

  test("anything else becomes the fallback code, with the thrown value as cause", T, () => {
    const boom = new TypeError("boom");
    const wrapped = toSidecarError(boom, "start_failed", "hello");
    assert.deepEqual([wrapped.code, wrapped.message, wrapped.method, wrapped.cause, wrapped.field, wrapped.data], ["start_failed", "TypeError: boom", "hello", boom, null, null]);
    assert.equal(toSidecarError("text", "invalid_params").message, "text");
  });
});
