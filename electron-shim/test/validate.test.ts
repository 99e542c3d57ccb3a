import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SidecarError } from "../src/errors";
import { ErrorCode, MediaType } from "../src/protocol";
import { RENDERER_RULES, validateBytes, validateParams } from "../src/validate";
import { type JsonSchema, loadSchema, nonNull, schemaIndex } from "./support/schema";

/** Compare one rule with the schema of the same field (refs resolved in `root`); returns the differences. */
function diff(field: string, rule: Record<string, unknown>, schema: JsonSchema, root: JsonSchema): string[] {
  const out: string[] = [];
  const eq = (what: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${field}: ${what} ${JSON.stringify(a)} != schema ${JSON.stringify(b)}`);
  };
  switch (rule["kind"]) {
    case "string":
      eq("type", "string", schema.type);
      if (schema.enum) eq("enum", rule["enum"], schema.enum);
      else {
        eq("min", rule["min"] ?? 0, schema.minLength ?? 0);
        // A pattern of fixed length (sha256) bounds the string by itself.
        if (schema.maxLength !== undefined || !schema.pattern) eq("max", rule["max"], schema.maxLength);
      }
      eq("pattern", (rule["pattern"] as RegExp | undefined)?.source, schema.pattern);
      break;
    case "int":
    case "number":
      eq("type", rule["kind"] === "int" ? "integer" : "number", schema.type);
      eq("min", rule["min"], schema.minimum);
      eq("max", rule["max"], schema.maximum);
      break;
    case "bool":
      eq("type", "boolean", schema.type);
      break;
    case "array":
      eq("type", "array", schema.type);
      eq("maxItems", rule["max"], schema.maxItems);
      out.push(...diff(`${field}[]`, rule["items"] as Record<string, unknown>, nonNull(schema.items ?? {}, root), root));
      break;
    case "json":
      eq("type", "object", schema.type);
      eq("additionalProperties", true, schema.additionalProperties);
      break;
  }
  return out;
}

describe("the renderer's params rules", () => {
  const index = schemaIndex();

  for (const [method, rules] of Object.entries(RENDERER_RULES)) {
    test(`${method}: same fields, required set, types, bounds and patterns as the protocol's schema`, () => {
      const entry = index.methods[method];
      assert.ok(entry, `${method} is in the schema index`);
      const schema = loadSchema(entry.params);
      const props = schema.properties ?? {};
      assert.deepEqual(Object.keys(rules).sort(), Object.keys(props).sort(), "field names");
      const required = Object.entries(rules as Record<string, { required?: boolean }>).filter(([, r]) => r.required).map(([k]) => k);
      assert.deepEqual(required.sort(), [...(schema.required ?? [])].sort(), "required fields");
      const problems: string[] = [];
      for (const [field, { rule }] of Object.entries(rules as Record<string, { rule: object }>)) {
        problems.push(...diff(field, rule as Record<string, unknown>, nonNull(props[field] ?? {}, schema), schema));
      }
      assert.deepEqual(problems, []);
    });
  }
});

function refusal(fn: () => unknown): SidecarError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SidecarError);
    return err;
  }
  assert.fail("not refused");
}

describe("validateParams", () => {
  const add = RENDERER_RULES.addMediaItem;
  const ok = { projectId: "p1", name: "clip.webm", type: MediaType.video };

  test("accepts a valid call and returns a plain copy of only the known fields", () => {
    const out = validateParams("addMediaItem", add, { ...ok, metadata: { prompt: "a cat", seed: 3, nested: [1, { a: null }] } });
    assert.deepEqual(out, { ...ok, metadata: { prompt: "a cat", seed: 3, nested: [1, { a: null }] } });
  });

  test("refuses unknown fields, missing required ones and wrong types, naming the field", () => {
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, evil: 1 })).field, "params.evil");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { name: "x", type: MediaType.video })).field, "params.projectId");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, width: "10" })).field, "params.width");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, width: 1.5 })).field, "params.width");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, download: 1 })).field, "params.download");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, type: "pdf" })).field, "params.type");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, projectId: "../x" })).field, "params.projectId");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, folderIds: ["a", 2] })).field, "params.folderIds.1");
    assert.equal(refusal(() => validateParams("addMediaItem", add, "not an object")).code, ErrorCode.invalid_params);
    assert.equal(refusal(() => validateParams("addMediaItem", add, [ok])).code, ErrorCode.invalid_params);
  });

  test("refuses oversized strings, lists and metadata", () => {
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, name: "n".repeat(256) })).field, "params.name");
    assert.equal(refusal(() => validateParams("listMediaItems", RENDERER_RULES.listMediaItems, { projectId: "p", limit: 501 })).field, "params.limit");
    const big = { blob: "x".repeat(70 * 1024) };
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, metadata: big })).field, "params.metadata");
  });

  test("metadata must be plain JSON data", () => {
    class Foo {}
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, metadata: { f: new Foo() } })).field, "params.metadata");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, metadata: { n: Number.NaN } })).field, "params.metadata");
    assert.equal(refusal(() => validateParams("addMediaItem", add, { ...ok, metadata: { u: new Uint8Array(2) } })).field, "params.metadata");
  });

  test("inline bytes: Uint8Array or ArrayBuffer within the cap", () => {
    assert.equal(validateBytes("addMediaItem", undefined, 10), undefined);
    assert.deepEqual(validateBytes("addMediaItem", new Uint8Array([1, 2]), 10), new Uint8Array([1, 2]));
    assert.deepEqual(validateBytes("addMediaItem", new Uint8Array([1, 2]).buffer, 10), new Uint8Array([1, 2]));
    assert.equal(refusal(() => validateBytes("addMediaItem", "bytes", 10)).field, "bytes");
    assert.equal(refusal(() => validateBytes("addMediaItem", [1, 2], 10)).field, "bytes");
    assert.equal(refusal(() => validateBytes("addMediaItem", new Uint8Array(11), 10)).code, ErrorCode.payload_too_large);
  });
});
