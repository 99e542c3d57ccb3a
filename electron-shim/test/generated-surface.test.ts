/**
 * src/generated/{params,methods}.ts are exactly what scripts/gen-surface.mjs makes of
 * protocol/schema/ today; the generated params rules accept and refuse what the schema itself
 * (ajv) accepts and refuses, value for value; the generated wrappers send what they say.
 */

import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";

import Ajv2020 from "ajv/dist/2020";

import { MediaStoreApi, type CallOptions, type CallReply } from "../src/api";
import { SidecarError } from "../src/errors";
import { PARAMS_RULES } from "../src/generated/params";
import type { MediaStore } from "../src/preload";
import type * as P from "../src/protocol";
import { type ParamsRules, validateParams } from "../src/validate";
import { PACKAGE_ROOT, tempDir } from "./support/paths";
import { type JsonSchema, SCHEMA_DIR, loadSchema, nonNull, schemaIndex } from "./support/schema";

const T = { timeout: 30_000 };

interface Generator {
  generate(schemaDir?: string): { params: string; methods: string };
  OUTPUT_FILES: { params: string; methods: string };
  REGENERATE_COMMAND: string;
}

const loadGenerator = (): Promise<Generator> =>
  import(pathToFileURL(join(PACKAGE_ROOT, "scripts", "gen-surface.mjs")).href) as Promise<Generator>;

describe("src/generated/params.ts and methods.ts", () => {
  for (const which of ["params", "methods"] as const) {
    test(`${which}.ts is what the schemas generate today (no drift), under a do-not-edit banner`, T, async () => {
      const gen = await loadGenerator();
      const committed = readFileSync(gen.OUTPUT_FILES[which], "utf8");
      assert.ok(committed === gen.generate()[which], `src/generated/${which}.ts is out of date with protocol/schema/: run \`${gen.REGENERATE_COMMAND}\``);
      assert.match(committed, /^\/\/ DO NOT EDIT\./);
      assert.ok(committed.split("\n").slice(0, 4).join("\n").includes("npm run gen:types"));
    });
  }

  test("the generator refuses a params keyword it does not know instead of dropping the constraint", T, async () => {
    const gen = await loadGenerator();
    const dir = join(tempDir("surface"), "schema");
    cpSync(SCHEMA_DIR, dir, { recursive: true });
    const file = join(dir, "getMediaItem.params.json");
    const schema = JSON.parse(readFileSync(file, "utf8")) as { properties: Record<string, Record<string, unknown>> };
    schema.properties["id"]!["format"] = "uuid";
    writeFileSync(file, JSON.stringify(schema));
    assert.throws(() => gen.generate(dir), /getMediaItem\.params\.json\/properties\/id: unsupported keyword "format"/);
  });
});

// ---------------------------------------------------------------- rules against the schema

/** Values around one field's constraints (both sides of every bound), plus every JSON type. */
function candidates(schema: JsonSchema, root: JsonSchema, valid: (v: unknown) => boolean): unknown[] {
  const s = nonNull(schema, root);
  const out: unknown[] = [null, true, 0, -1, 1, 1.5, "", "p1", "a".repeat(64), "../x", [], {}, ["a"], [2], { a: 1 }];
  const lengths = [s.minLength, s.maxLength].filter((n): n is number => n !== undefined).flatMap((n) => [n - 1, n, n + 1]).filter((n) => n >= 0);
  for (const n of lengths) out.push("p".repeat(n), "😀".repeat(n), `${"😀".repeat(Math.max(0, n - 1))}pp`);
  for (const e of s.enum ?? []) out.push(e, `${e}x`, e.toUpperCase());
  for (const n of [s.minimum, s.maximum].filter((x): x is number => x !== undefined)) out.push(n - 1, n, n + 1, n + 0.5);
  if (s.type === "array" && s.items) {
    const items = candidates(s.items, root, () => true).filter((v) => typeof v === "string" || typeof v === "number");
    const item = s.items.enum?.[0] ?? items.find((v) => valid([v])) ?? "a";
    for (const n of [s.maxItems ?? 0, (s.maxItems ?? 0) + 1]) out.push(Array.from({ length: n }, () => item));
    out.push([item, 7], [item, null]);
  }
  if (s.type === "object" && s.properties) {
    // A nested closed object: a valid one, then each of its fields broken in turn.
    const good: Record<string, unknown> = {};
    for (const [k, sub] of Object.entries(s.properties)) {
      const ok = candidates(sub, root, () => true).find((v) => v !== null && typeof v === "string");
      if ((s.required ?? []).includes(k)) good[k] = ok;
    }
    out.push(good, { ...good, extra: 1 }, {});
    for (const k of Object.keys(s.properties)) out.push({ ...good, [k]: 5 }, { ...good, [k]: "x".repeat(300) });
  }
  if (s.type === "object" && !s.properties) out.push({ nested: [1, { b: null }] }, { s: "x" });
  return out;
}

describe("the generated params rules accept exactly what the protocol's schema accepts", () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const index = schemaIndex();
  const accepts = (method: string, rules: ParamsRules, params: unknown): boolean => {
    try {
      validateParams(method, rules, params);
      return true;
    } catch (err) {
      assert.ok(err instanceof SidecarError && err.code === "invalid_params", `${method}: ${String(err)}`);
      return false;
    }
  };

  for (const [method, entry] of Object.entries(index.methods)) {
    test(`${method}: every field, both sides of every bound, every JSON type, unknown and missing fields`, T, () => {
      const root = loadSchema<JsonSchema>(entry.params);
      const schemaAccepts = ajv.compile(root);
      const rules = (PARAMS_RULES as Record<string, ParamsRules>)[method];
      assert.ok(rules, `${method} has generated rules`);
      const props = root.properties ?? {};
      // The smallest valid params: each required field at its first value the schema takes.
      const base: Record<string, unknown> = {};
      for (const field of root.required ?? []) {
        const fieldOk = ajv.compile({ $defs: root.$defs ?? {}, ...props[field] });
        base[field] = candidates(props[field]!, root, () => true).find((v) => fieldOk(v));
      }
      assert.ok(schemaAccepts(base), `${method}: a valid base ${JSON.stringify(base)}`);

      const cases: unknown[] = [base, undefined, null, [], "x", { ...base, unknownField: 1 }];
      for (const field of root.required ?? []) {
        const { [field]: _dropped, ...rest } = base;
        cases.push(rest);
      }
      for (const [field, schema] of Object.entries(props)) {
        const fieldOk = ajv.compile({ $defs: root.$defs ?? {}, ...schema });
        for (const value of candidates(schema, root, (v) => fieldOk(v))) cases.push({ ...base, [field]: value });
      }
      const disagreements: string[] = [];
      let refused = 0;
      for (const params of cases) {
        const bySchema = schemaAccepts(params === undefined ? {} : params); // absent params are {} on the wire
        if (!bySchema) refused++;
        if (bySchema !== accepts(method, rules, params)) {
          disagreements.push(`${JSON.stringify(params)?.slice(0, 120)}: schema ${bySchema ? "accepts" : "refuses"}, rules do not`);
        }
      }
      assert.deepEqual(disagreements, []);
      if (Object.keys(props).length > 0) assert.ok(refused > 0, `${method}: the corpus must contain params the schema refuses`);
    });
  }

  test("numbers JSON cannot carry (NaN, Infinity) are refused too", T, () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.equal(accepts("addMediaItem", PARAMS_RULES.addMediaItem, { projectId: "p", name: "n", type: "video", duration: value }), false);
    }
  });
});

// ---------------------------------------------------------------- the typed wrappers

class Recorder extends MediaStoreApi {
  sent: { method: string; params: unknown; options: CallOptions | undefined }[] = [];

  override call<K extends P.MethodName>(method: K, params: P.ParamsOf<K>, options?: CallOptions): Promise<P.ResultOf<K>> {
    this.sent.push({ method, params, options });
    return Promise.resolve({ answered: method } as never);
  }

  override async callWithPayloads<K extends P.MethodName>(method: K, params: P.ParamsOf<K>, options?: CallOptions): Promise<CallReply<K>> {
    return { result: await this.call(method, params, options), payloads: [] };
  }
}

describe("the generated method wrappers", () => {
  test("every method but hello and shutdown has one; it sends its own name, its params and its options", T, async () => {
    const api = new Recorder();
    const wrapped = Object.keys(schemaIndex().methods).filter((m) => m !== "hello" && m !== "shutdown" && m !== "readMediaRange");
    for (const method of wrapped) {
      const fn = (api as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method];
      assert.equal(typeof fn, "function", method);
      const takesParams = Object.keys(PARAMS_RULES[method as P.MethodName]).length > 0;
      const params = { marker: method };
      const answer = takesParams ? await fn!.call(api, params, { timeoutMs: 7 }) : await fn!.call(api, { timeoutMs: 7 });
      assert.deepEqual(answer, { answered: method });
      const sent = api.sent.pop();
      assert.equal(sent?.method, method);
      assert.deepEqual(sent?.params, takesParams ? params : {});
      if (method !== "addMediaItem") assert.deepEqual(sent?.options, { timeoutMs: 7 }, method);
    }
    for (const method of ["hello", "shutdown"]) assert.equal((api as unknown as Record<string, unknown>)[method], undefined, method);
  });

  test("addMediaItem's bytes travel as payload frames beside the options; params with no required field default to {}", T, async () => {
    const api = new Recorder();
    const bytes = new Uint8Array([1, 2, 3]);
    await api.addMediaItem({ projectId: "p", name: "n", type: "video" }, bytes, { timeoutMs: 5 });
    assert.deepEqual(api.sent.pop()?.options, { timeoutMs: 5, payloads: bytes });
    await api.addMediaItem({ projectId: "p", name: "n", type: "video", sourceUrl: "https://x/y" });
    assert.equal(api.sent.pop()?.options, undefined);
    await api.listDownloads();
    await api.subscribe();
    assert.deepEqual(api.sent.map((s) => [s.method, s.params]), [["listDownloads", {}], ["subscribe", {}]]);
  });
});

describe("the renderer's call shapes (preload.ts: generated types under the renderer policy)", () => {
  test("params where the protocol has fields (required when it requires one); bytes and options only where the policy gives them", T, () => {
    type Args<K extends keyof MediaStore> = MediaStore[K] extends (...args: infer A) => unknown ? A : never;
    const shapes: { [K in "ping" | "getMediaItem" | "listDownloads" | "addMediaItem" | "downloadUrlOnlyItem"]: Args<K> } = {
      ping: [],
      getMediaItem: [{ id: "a" }],
      listDownloads: [],
      addMediaItem: [{ projectId: "p", name: "n", type: "video" }, new Uint8Array(1), { inactivityMs: 5_000 }],
      downloadUrlOnlyItem: [{ id: "a" }, { inactivityMs: 5_000 }],
    };
    // @ts-expect-error getMediaItem needs its params
    const noParams: Args<"getMediaItem"> = [];
    // @ts-expect-error ping takes nothing
    const pingParams: Args<"ping"> = [{}];
    // @ts-expect-error only download calls take options
    const removeOptions: Args<"removeMediaItem"> = [{ id: "a" }, { inactivityMs: 5_000 }];
    // @ts-expect-error only addMediaItem takes bytes
    const downloadBytes: Args<"downloadUrlOnlyItem"> = [{ id: "a" }, new Uint8Array(1)];
    assert.equal(Object.keys(shapes).length, 5);
    assert.deepEqual([noParams, pingParams, removeOptions, downloadBytes].map((a) => a.length), [0, 1, 2, 2]);
  });
});
