// Generates the shim's method surface from the JSON Schema files the Python side exports
// (../protocol/schema/, listed by index.json), next to the types of scripts/gen-types.mjs:
//
//   src/generated/params.ts   every method's params rules (fields, required, types, lengths,
//                             patterns, bounds, enums, nullability), checked at run time by
//                             src/validate.ts before a renderer's call reaches the sidecar
//   src/generated/methods.ts  `ProtocolMethods`: one typed wrapper per method, each a call of
//                             `call()`, the base of `MediaStoreApi` (src/api.ts)
//
//   npm run gen:types              write src/generated/{protocol,params,methods}.ts
//   npm run gen:types -- --check   exit 1 (naming the command) if any of them is out of date
//
// `npm run gen:types` runs scripts/gen-types.mjs first (the types these files refer to), then
// this script, with the same arguments. What stays hand-written is policy: which methods a
// renderer may call and how big its metadata may be (validate.ts, preload.ts), and the
// wrappers whose reply is more than the result (readMediaRange's bytes, in api.ts).
//
// Like gen-types.mjs it knows exactly the subset of JSON Schema the exporter produces for
// params; any other keyword or shape is an error naming the file and path, never a guess.
// The output depends only on the schema files, so the drift test compares it byte for byte.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_SCHEMA_DIR = join(PACKAGE_ROOT, "..", "protocol", "schema");
export const OUTPUT_FILES = {
  params: join(PACKAGE_ROOT, "src", "generated", "params.ts"),
  methods: join(PACKAGE_ROOT, "src", "generated", "methods.ts"),
};
export const REGENERATE_COMMAND = "cd electron-shim && npm run gen:types";

/**
 * Methods that get no typed wrapper: `hello` is performed by `SidecarClient.connect()`, and
 * `shutdown` ends the process, which the owner of the process does (`Supervisor.stop()`).
 * Both stay callable through `call()`.
 */
const SESSION_METHODS = new Set(["hello", "shutdown"]);

const ANNOTATIONS = new Set(["$schema", "$comment", "$defs", "title", "description", "default"]);
const RULE_KEYWORDS = {
  string: new Set(["type", "minLength", "maxLength", "pattern", "enum"]),
  integer: new Set(["type", "minimum", "maximum"]),
  number: new Set(["type", "minimum", "maximum"]),
  boolean: new Set(["type"]),
  array: new Set(["type", "items", "minItems", "maxItems"]),
  object: new Set(["type", "properties", "required", "additionalProperties"]),
};
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

class SchemaError extends Error {
  constructor(where, message) {
    super(`${where}: ${message} (scripts/gen-surface.mjs handles only what protocol/schema/ contains; extend it, or fix the exporter)`);
    this.name = "SchemaError";
  }
}

const readJson = (dir, file) => JSON.parse(readFileSync(join(dir, file), "utf8"));
const docText = (text) => text.replace(/``([^`]+)``/g, "`$1`");

/** Words of one paragraph line, re-wrapped to fit 100 columns after `indent * `. */
function wrap(line, width) {
  const out = [];
  let current = "";
  for (const word of line.split(/ +/)) {
    if (current && current.length + 1 + word.length > width) {
      out.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  out.push(current);
  return out;
}

function comment(lines, indent) {
  const width = 100 - indent.length - 3;
  const safe = lines
    .flatMap((l) => l.split("\n"))
    .flatMap((l) => (l.length > width ? wrap(l, width) : [l]))
    .map((l) => l.replace(/\*\//g, "*\\/").trimEnd());
  if (safe.length === 0) return "";
  if (safe.length === 1) return `${indent}/** ${safe[0]} */\n`;
  return `${indent}/**\n${safe.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)).join("\n")}\n${indent} */\n`;
}

// ---------------------------------------------------------------------------- params rules

/** Resolve a local `#/$defs/Name` ref of `root`. */
function resolve(schema, root, where) {
  if (schema.$ref === undefined) return schema;
  const m = /^#\/\$defs\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(schema.$ref);
  const def = m ? root.$defs?.[m[1]] : undefined;
  if (!def) throw new SchemaError(where, `unresolved $ref ${schema.$ref}`);
  return def;
}

/** `{ nullable, schema }`: the one non-null branch of `anyOf: [X, {type: "null"}]`, or the schema. */
function unwrapNull(schema, root, where) {
  if (schema.anyOf === undefined) return { nullable: false, schema: resolve(schema, root, where) };
  const branches = schema.anyOf.filter((b) => b.type !== "null");
  if (branches.length !== 1 || schema.anyOf.length !== 2) throw new SchemaError(where, "anyOf other than [X, null]");
  for (const key of Object.keys(schema)) {
    if (key !== "anyOf" && !ANNOTATIONS.has(key)) throw new SchemaError(where, `${key} beside anyOf`);
  }
  return { nullable: true, schema: resolve(branches[0], root, `${where}/anyOf/0`) };
}

/** The rule expression (TypeScript source) of one non-null schema. */
function ruleExpr(schema, root, where, indent) {
  const allowed = RULE_KEYWORDS[schema.type];
  if (!allowed) throw new SchemaError(where, `unsupported type ${JSON.stringify(schema.type)}`);
  for (const key of Object.keys(schema)) {
    if (!allowed.has(key) && !ANNOTATIONS.has(key)) throw new SchemaError(where, `unsupported keyword ${JSON.stringify(key)} for ${schema.type}`);
  }
  const parts = [];
  const put = (name, value) => value !== undefined && parts.push(`${name}: ${value}`);
  switch (schema.type) {
    case "string":
      parts.push('kind: "string"');
      put("min", schema.minLength);
      put("max", schema.maxLength);
      if (schema.pattern !== undefined) put("pattern", `new RegExp(${JSON.stringify(schema.pattern)}, "u")`);
      if (schema.enum !== undefined) {
        if (!schema.enum.every((v) => typeof v === "string")) throw new SchemaError(where, "a string enum with a non-string member");
        put("enum", `[${schema.enum.map((v) => JSON.stringify(v)).join(", ")}]`);
      }
      break;
    case "integer":
    case "number":
      parts.push(`kind: ${schema.type === "integer" ? '"int"' : '"number"'}`);
      put("min", schema.minimum);
      put("max", schema.maximum);
      break;
    case "boolean":
      parts.push('kind: "bool"');
      break;
    case "array": {
      if (schema.items === undefined) throw new SchemaError(where, "an array without items");
      if (schema.maxItems === undefined) throw new SchemaError(where, "an array without maxItems (unbounded input)");
      parts.push('kind: "array"');
      put("min", schema.minItems);
      put("max", schema.maxItems);
      const items = resolve(schema.items, root, `${where}/items`);
      if (items.anyOf !== undefined) throw new SchemaError(`${where}/items`, "nullable array items");
      put("items", ruleExpr(items, root, `${where}/items`, indent));
      break;
    }
    case "object": {
      const props = schema.properties ?? {};
      if (Object.keys(props).length === 0) {
        // Free-form data (metadata): any JSON object; its size is the caller's policy.
        if (schema.additionalProperties !== true) throw new SchemaError(where, "an object with no properties that is not open");
        parts.push('kind: "json"');
        break;
      }
      if (schema.additionalProperties !== false) throw new SchemaError(where, "an object with properties that is not closed");
      parts.push('kind: "object"');
      put("fields", fieldsExpr(schema, root, where, `${indent}  `));
      break;
    }
  }
  return `{ ${parts.join(", ")} }`;
}

/** `{ field: { rule, required?, nullable? }, ... }` of an object schema with properties. */
function fieldsExpr(schema, root, where, indent) {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  for (const r of required) if (!(r in props)) throw new SchemaError(where, `required ${r} is not a property`);
  const entries = Object.entries(props);
  if (entries.length === 0) return "{}";
  const lines = entries.map(([key, prop]) => {
    const at = `${where}/properties/${key}`;
    const name = IDENT.test(key) ? key : JSON.stringify(key);
    const { nullable, schema: inner } = unwrapNull(prop, root, at);
    const flags = `${required.has(key) ? ", required: true" : ""}${nullable ? ", nullable: true" : ""}`;
    return `${indent}  ${name}: { rule: ${ruleExpr(inner, root, at, `${indent}  `)}${flags} },\n`;
  });
  return `{\n${lines.join("")}${indent}}`;
}

function paramsFile(methods, schemaDir) {
  const entries = methods.map(({ method, entry }) => {
    const schema = readJson(schemaDir, entry.params);
    const where = `protocol/schema/${entry.params}`;
    if (schema.type !== "object" || schema.additionalProperties !== false) throw new SchemaError(where, "params must be a closed object");
    return `${comment([`\`${method}\`: \`protocol/schema/${entry.params}\`.`], "  ")}  ${method}: ${fieldsExpr(schema, schema, where, "  ")},\n`;
  });
  return `${banner("params")}
import type { ParamsRules } from "../validate";
import type { Methods } from "./protocol";

/** Every method's params, as the protocol's schema states them. */
export const PARAMS_RULES = {
${entries.join("")}} as const satisfies { readonly [M in keyof Methods]: ParamsRules };
`;
}

// ---------------------------------------------------------------------------- method wrappers

function wrapper(method, entry, schemaDir) {
  const schema = readJson(schemaDir, entry.params);
  const result = readJson(schemaDir, entry.result).title;
  const paramsType = schema.title;
  const props = Object.keys(schema.properties ?? {});
  const doc = comment([docText(entry.doc), ...(entry.testOnly ? ["", "Test-only: served only by a sidecar started with `--enable-test-hooks`."] : [])], "  ");
  const args = [];
  let params = "params";
  if (props.length === 0) params = "{}";
  else if ((schema.required ?? []).length === 0) args.push(`params: G.${paramsType} = {}`);
  else args.push(`params: G.${paramsType}`);
  if (entry.replyPayloads) {
    // Its reply carries bytes beside the result: written by hand (src/api.ts), typed here.
    return `${doc}  abstract ${method}(${[...args, "options?: CallOptions"].join(", ")}): Promise<G.${result} & { bytes: Uint8Array }>;\n`;
  }
  if (entry.payloads) {
    args.push("bytes?: InlineBytes", "options?: CallOptions");
    const opts = "bytes === undefined ? options : { ...options, payloads: bytes }";
    return `${doc}  ${method}(${args.join(", ")}): Promise<G.${result}> {\n    return this.call(${JSON.stringify(method)}, ${params}, ${opts});\n  }\n`;
  }
  args.push("options?: CallOptions");
  return `${doc}  ${method}(${args.join(", ")}): Promise<G.${result}> {\n    return this.call(${JSON.stringify(method)}, ${params}, options);\n  }\n`;
}

function methodsFile(methods, schemaDir) {
  const wrappers = methods.filter(({ method }) => !SESSION_METHODS.has(method)).map(({ method, entry }) => wrapper(method, entry, schemaDir));
  return `${banner("methods")}
import { EventEmitter } from "node:events";

import type { CallOptions, CallReply, InlineBytes } from "../api";
import type * as G from "./protocol";

type MethodName = keyof G.Methods;

/**
 * One typed method per protocol method (but ${[...SESSION_METHODS].map((m) => `\`${m}\``).join(" and ")}, which the connection and its
 * owner perform), each a call of \`call()\`. \`MediaStoreApi\` (src/api.ts) extends it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the constraint of node:events own EventMap
export abstract class ProtocolMethods<M extends Record<keyof M, any[]>> extends EventEmitter<M> {
  /** Send one request; resolves to its result, rejects with \`SidecarError\`. */
  abstract call<K extends MethodName>(method: K, params: G.Methods[K]["params"], options?: CallOptions): Promise<G.Methods[K]["result"]>;

  /** \`call\`, keeping the binary payload frames of the reply (readMediaRange sends one). */
  abstract callWithPayloads<K extends MethodName>(method: K, params: G.Methods[K]["params"], options?: CallOptions): Promise<CallReply<K>>;

${wrappers.join("")}}
`;
}

// ---------------------------------------------------------------------------- the files

function banner(which) {
  return [
    "// DO NOT EDIT. Generated by scripts/gen-surface.mjs from protocol/schema/*.json, the JSON Schema",
    "// exported from the pydantic models in protocol/ (`python -m protocol.schema --write`).",
    `// Regenerate: ${REGENERATE_COMMAND}.`,
    `// test/generated-surface.test.ts fails while this file differs from what the schemas generate (${which}).`,
  ].join("\n");
}

/** `{ params, methods }`: the text of each generated file, from the schema files in `schemaDir`. */
export function generate(schemaDir = DEFAULT_SCHEMA_DIR) {
  const index = readJson(schemaDir, "index.json");
  const methods = Object.entries(index.methods).map(([method, entry]) => {
    if (!IDENT.test(method)) throw new SchemaError("protocol/schema/index.json", `method name ${JSON.stringify(method)} is not an identifier`);
    return { method, entry };
  });
  return { params: paramsFile(methods, schemaDir), methods: methodsFile(methods, schemaDir) };
}

// ---------------------------------------------------------------------------- command line

function main(argv) {
  // The types first: the surface refers to them (one command regenerates and checks both).
  const types = spawnSync(process.execPath, [join(PACKAGE_ROOT, "scripts", "gen-types.mjs"), ...argv], { stdio: "inherit" });
  let failed = types.status !== 0;
  const check = argv.includes("--check");
  const texts = generate();
  for (const [key, file] of Object.entries(OUTPUT_FILES)) {
    const text = texts[key];
    const rel = relative(process.cwd(), file) || file;
    let current = null;
    try {
      current = readFileSync(file, "utf8");
    } catch {
      // absent: written below, or reported as drift
    }
    if (current === text) console.log(`${rel} is up to date`);
    else if (check) {
      console.error(`${rel} is out of date with protocol/schema/: run ${REGENERATE_COMMAND}`);
      failed = true;
    } else {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      console.log(`wrote ${rel}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
