// Generates src/generated/protocol.ts, the TypeScript types of the wire protocol, from the
// JSON Schema files the Python side exports from its pydantic models (../protocol/schema/,
// `python -m protocol.schema --write`; index.json lists them).
//
//   npm run gen:types              write src/generated/protocol.ts
//   npm run gen:types -- --check   exit 1 (naming the command) if the file is out of date
//
// A focused generator, not a general one: it knows exactly the subset of JSON Schema 2020-12
// the exporter produces (local `#/$defs/X` refs, `anyOf` with null, `enum`, `const`, objects,
// arrays, maps, and the constraint keywords, which become doc comments: ajv enforces them in
// the tests). Any other keyword, a ref it cannot resolve, or two files that define the same
// type differently is an error naming the file and the path, so a schema change can never
// silently produce wrong types. The output depends only on the schema files (key order as
// exported, no timestamps), so the drift test can compare it byte for byte.
//
// Why not json-schema-to-typescript: it compiles one file at a time, so the $defs shared by
// many files (MediaItem is in 9 of them) come out once per file or renamed MediaItem1...;
// open objects (results, which omit additionalProperties) get `[k: string]: unknown` index
// signatures; and it would bring prettier and a ref parser into the lockfile for ~300 lines.

import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_SCHEMA_DIR = join(PACKAGE_ROOT, "..", "protocol", "schema");
export const OUTPUT_FILE = join(PACKAGE_ROOT, "src", "generated", "protocol.ts");
/** How to regenerate; written into the banner and named by every drift failure. */
export const REGENERATE_COMMAND = "cd electron-shim && npm run gen:types";

const DIALECT = "https://json-schema.org/draft/2020-12/schema";
/** Keywords that only constrain values: documented in the output, enforced by ajv in the tests. */
const CONSTRAINTS = new Set(["minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"]);
const ANNOTATIONS = new Set(["$schema", "$comment", "$defs", "title", "description", "default"]);
const STRUCTURE = new Set(["type", "enum", "const", "anyOf", "$ref", "properties", "required", "additionalProperties", "items"]);
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

class SchemaError extends Error {
  constructor(where, message) {
    super(`${where}: ${message} (scripts/gen-types.mjs handles only what protocol/schema/ contains; extend it, or fix the exporter)`);
    this.name = "SchemaError";
  }
}

// ---------------------------------------------------------------------------- reading

function readJson(dir, file) {
  return JSON.parse(readFileSync(join(dir, file), "utf8"));
}

/** A stable serialisation (sorted keys) for comparing two definitions of one type. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A type definition without what belongs to its file rather than to the type. */
function bodyOf(schema) {
  const { $schema: _s, $comment: _c, $defs: _d, ...body } = schema;
  return body;
}

/**
 * Every named type (titled top-level schemas and `$defs`), checked to be defined identically
 * wherever it appears.
 */
class Types {
  constructor() {
    /** name -> { schema, where } */
    this.byName = new Map();
  }

  add(name, schema, where) {
    if (!IDENT.test(name)) throw new SchemaError(where, `type name ${JSON.stringify(name)} is not a TypeScript identifier`);
    const body = bodyOf(schema);
    const seen = this.byName.get(name);
    if (seen) {
      if (canonical(seen.schema) !== canonical(body)) {
        throw new SchemaError(where, `defines ${name} differently from ${seen.where}`);
      }
      return;
    }
    this.byName.set(name, { schema: body, where });
  }

  get(name, where) {
    const t = this.byName.get(name);
    if (!t) throw new SchemaError(where, `unresolved type ${name}`);
    return t;
  }
}

/** Every `$ref` of a file must name one of that file's own `$defs` (refs are file-local). */
function checkRefs(node, defs, where) {
  if (Array.isArray(node)) return node.forEach((n, i) => checkRefs(n, defs, `${where}/${i}`));
  if (!node || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref") {
      const m = /^#\/\$defs\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
      if (!m) throw new SchemaError(where, `unsupported $ref ${value} (only local #/$defs/Name)`);
      if (!Object.hasOwn(defs, m[1])) throw new SchemaError(where, `unresolved type ${m[1]} (not in this file's $defs)`);
    } else if (key !== "enum" && key !== "const" && key !== "default") {
      checkRefs(value, defs, `${where}/${key}`);
    }
  }
}

function loadFile(dir, file, types) {
  const schema = readJson(dir, file);
  const where = `protocol/schema/${file}`;
  if (schema.$schema !== DIALECT) throw new SchemaError(where, `$schema is ${JSON.stringify(schema.$schema)}, expected ${DIALECT}`);
  if (typeof schema.title !== "string") throw new SchemaError(where, "has no title (the title names the TypeScript type)");
  checkRefs(schema, schema.$defs ?? {}, where);
  for (const [name, def] of Object.entries(schema.$defs ?? {})) {
    if (def.title !== undefined && def.title !== name) throw new SchemaError(`${where}#/$defs/${name}`, `title ${def.title} differs from its key`);
    types.add(name, def, `${where}#/$defs/${name}`);
  }
  types.add(schema.title, schema, where);
  return { name: schema.title, file, schema };
}

// ---------------------------------------------------------------------------- rendering

/** Doc comment lines: the description (RST ``code`` as `code`), then constraints and default. */
function docLines(schema, { withDefault = false } = {}) {
  const lines = [];
  if (typeof schema.description === "string") {
    lines.push(...schema.description.replace(/``([^`]+)``/g, "`$1`").split("\n"));
  }
  const facts = constraintText(schema);
  if (facts) {
    if (lines.length) lines.push("");
    lines.push(facts);
  }
  if (withDefault && "default" in schema) lines.push(`@default ${JSON.stringify(schema.default)}`);
  return lines;
}

function constraintText(schema) {
  const facts = constraintFacts(schema);
  return facts.length ? `${facts.join(", ")}.`.replace(/^./, (c) => c.toUpperCase()) : "";
}

function constraintFacts(s) {
  if (s.anyOf) return s.anyOf.flatMap(constraintFacts);
  const parts = [];
  if (s.type === "integer") parts.push("integer");
  const range = (lo, hi, unit) => {
    if (lo !== undefined && hi !== undefined) parts.push(`${lo}..${hi}${unit}`);
    else if (lo !== undefined) parts.push(`≥ ${lo}${unit}`);
    else if (hi !== undefined) parts.push(`≤ ${hi}${unit}`);
  };
  range(s.minLength, s.maxLength, " characters");
  range(s.minimum, s.maximum, "");
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}`);
  range(s.minItems, s.maxItems, " items");
  if (s.pattern !== undefined) parts.push(`pattern \`${s.pattern}\``);
  if (s.items) {
    const inner = constraintFacts(s.items);
    if (inner.length) parts.push(`each ${inner.join(", ")}`);
  }
  return parts;
}

function comment(lines, indent) {
  if (lines.length === 0) return "";
  const safe = lines.map((l) => l.replace(/\*\//g, "*\\/").trimEnd());
  if (safe.length === 1) return `${indent}/** ${safe[0]} */\n`;
  return `${indent}/**\n${safe.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)).join("\n")}\n${indent} */\n`;
}

function checkKeywords(schema, where) {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw new SchemaError(where, "a schema must be an object");
  for (const key of Object.keys(schema)) {
    if (!CONSTRAINTS.has(key) && !ANNOTATIONS.has(key) && !STRUCTURE.has(key)) {
      throw new SchemaError(where, `unsupported keyword ${JSON.stringify(key)}`);
    }
  }
}

const literal = (v, where) => {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null) return JSON.stringify(v);
  throw new SchemaError(where, `unsupported literal ${JSON.stringify(v)}`);
};

/** A union member inside `T[]` needs parentheses. */
const asElement = (t) => (/[|&]/.test(t) ? `(${t})` : t);

/** The TypeScript type expression of a schema that is not a named type. */
function typeExpr(schema, where, types, indent) {
  checkKeywords(schema, where);
  if (schema.$ref !== undefined) {
    const m = /^#\/\$defs\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(schema.$ref);
    if (!m) throw new SchemaError(where, `unsupported $ref ${schema.$ref} (only local #/$defs/Name)`);
    types.get(m[1], where);
    return m[1];
  }
  if (schema.anyOf !== undefined) {
    const members = schema.anyOf.map((b, i) => typeExpr(b, `${where}/anyOf/${i}`, types, indent));
    return [...new Set(members)].join(" | ");
  }
  if (schema.const !== undefined) return literal(schema.const, where);
  if (schema.enum !== undefined) return schema.enum.map((v) => literal(v, `${where}/enum`)).join(" | ");
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      if (schema.items === undefined) throw new SchemaError(where, "an array without items");
      return `${asElement(typeExpr(schema.items, `${where}/items`, types, indent))}[]`;
    case "object":
      return objectExpr(schema, where, types, indent);
    default:
      throw new SchemaError(where, `unsupported type ${JSON.stringify(schema.type)}`);
  }
}

/**
 * An object: its declared properties (unknown ones are left out even where the schema allows
 * them: clients ignore them), or a map when it declares none.
 */
function objectExpr(schema, where, types, indent) {
  const props = schema.properties;
  const extra = schema.additionalProperties;
  if (props === undefined || Object.keys(props).length === 0) {
    if (extra === false) return "Record<string, never>";
    if (extra === undefined || extra === true) return "Record<string, unknown>";
    return `Record<string, ${typeExpr(extra, `${where}/additionalProperties`, types, indent)}>`;
  }
  if (extra !== undefined && typeof extra !== "boolean") {
    throw new SchemaError(where, "properties together with an additionalProperties schema");
  }
  return `{\n${members(schema, where, types, `${indent}  `)}${indent}}`;
}

function members(schema, where, types, indent) {
  const required = new Set(schema.required ?? []);
  for (const r of required) {
    if (!(r in schema.properties)) throw new SchemaError(where, `required ${r} is not a property`);
  }
  let out = "";
  for (const [key, prop] of Object.entries(schema.properties)) {
    const at = `${where}/properties/${key}`;
    const optional = !required.has(key);
    const name = IDENT.test(key) ? key : JSON.stringify(key);
    out += comment(docLines(prop, { withDefault: optional }), indent);
    out += `${indent}${name}${optional ? "?" : ""}: ${typeExpr(prop, at, types, indent)};\n`;
  }
  return out;
}

/** A named enum of strings (a StrEnum of protocol/vocabulary.py or ErrorCode). */
const isWordSet = (schema) => schema.type === "string" && Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === "string");

/**
 * A word set as a const object (each word keyed by itself: `ItemStatus.urlOnly`) and the
 * union type of the same name, so code names a word instead of repeating a string literal.
 */
function wordSet(name, schema, where) {
  for (const word of schema.enum) {
    if (!IDENT.test(word)) throw new SchemaError(`${where}/enum`, `${JSON.stringify(word)} is not a TypeScript identifier`);
  }
  const entries = schema.enum.map((w) => `  ${w}: ${JSON.stringify(w)},\n`).join("");
  return `export const ${name} = {\n${entries}} as const;\nexport type ${name} = (typeof ${name})[keyof typeof ${name}];\n`;
}

/**
 * `export interface Name {...}` for an object with properties, a const object and a union
 * type for a word set, else `export type Name = ...`.
 */
function declaration(name, schema, where, types, extraDoc = []) {
  checkKeywords(schema, where);
  const doc = [...docLines(schema)];
  if (extraDoc.length) {
    if (doc.length) doc.push("");
    doc.push(...extraDoc);
  }
  let out = comment(doc, "");
  const isInterface = schema.type === "object" && schema.properties && Object.keys(schema.properties).length > 0 && !schema.anyOf;
  if (isWordSet(schema)) {
    out += wordSet(name, schema, where);
  } else if (isInterface) {
    if (schema.additionalProperties !== undefined && typeof schema.additionalProperties !== "boolean") {
      throw new SchemaError(where, "properties together with an additionalProperties schema");
    }
    out += `export interface ${name} {\n${members(schema, where, types, "  ")}}\n`;
  } else {
    // Constraints of a named non-object type are in its doc comment already.
    const expr = typeExpr(schema, where, types, "");
    const members = expr.split(" | ");
    out += expr.length > 90 && !expr.includes("\n") && members.length > 2
      ? `export type ${name} =\n${members.map((m) => `  | ${m}`).join("\n")};\n`
      : `export type ${name} = ${expr};\n`;
  }
  return out;
}

// ---------------------------------------------------------------------------- the file

/** The whole of src/generated/protocol.ts, from the schema files in `schemaDir`. */
export function generate(schemaDir = DEFAULT_SCHEMA_DIR) {
  const index = readJson(schemaDir, "index.json");
  const types = new Types();
  const load = (file) => loadFile(schemaDir, file, types);

  const methods = Object.entries(index.methods).map(([method, m]) => ({ method, ...m, params: load(m.params), result: load(m.result) }));
  const events = Object.entries(index.events).map(([event, e]) => ({ event, ...e, data: load(e.data) }));
  const envelopes = Object.entries(index.envelopes).map(([kind, file]) => ({ kind, ...load(file) }));
  const errorBody = load(index.errorBody);
  const startup = Object.entries(index.startup ?? {}).map(([kind, file]) => ({ kind, ...load(file) }));

  const listed = new Set(["index.json", ...methods.flatMap((m) => [m.params.file, m.result.file]), ...events.map((e) => e.data.file), ...envelopes.map((e) => e.file), errorBody.file, ...startup.map((s) => s.file)]);
  const unlisted = readdirSync(schemaDir).filter((f) => f.endsWith(".json") && !listed.has(f)).sort();
  if (unlisted.length) throw new SchemaError("protocol/schema/index.json", `does not list ${unlisted.join(", ")}`);

  const codes = Object.keys(index.errorCodes);
  const codeType = types.get("ErrorCode", "the ErrorCode enum");
  if (canonical(codeType.schema.enum) !== canonical(codes)) {
    throw new SchemaError(codeType.where, "the ErrorCode enum differs from index.json's errorCodes");
  }
  const anyMethodErrors = index.anyMethodErrors;
  if (!Array.isArray(anyMethodErrors) || anyMethodErrors.some((c) => !codes.includes(c))) {
    throw new SchemaError("protocol/schema/index.json", "anyMethodErrors is not a list of error codes");
  }
  if (!/^\d+\.\d+\.\d+$/.test(index.protocolVersion)) throw new SchemaError("protocol/schema/index.json", "protocolVersion is not x.y.z");

  const emitted = new Set();
  const sections = [];
  const emit = (name, extraDoc) => {
    if (emitted.has(name)) return "";
    emitted.add(name);
    const t = types.get(name, "emit");
    return declaration(name, t.schema, t.where, types, extraDoc);
  };
  const section = (title, parts) => sections.push(`// ${"-".repeat(16)} ${title}\n\n${parts.filter(Boolean).join("\n")}`);

  section("version and error codes", [
    `/** The protocol version these types describe (a client and a server talk when the majors match). */\nexport const PROTOCOL_VERSION = ${JSON.stringify(index.protocolVersion)};\n`,
    `/** Every error code a server may reply with, in the protocol's order. */\nexport const ERROR_CODES = [\n${codes
      .map((c) => `${comment([index.errorCodes[c]], "  ")}  ${JSON.stringify(c)},\n`)
      .join("")}] as const;\n`,
    emit("ErrorCode"),
    `/** The codes any request may get, whatever its method (each method's own are in METHOD_ERRORS). */\nexport const ANY_METHOD_ERRORS = [\n${anyMethodErrors
      .map((c) => `  ${JSON.stringify(c)},\n`)
      .join("")}] as const satisfies readonly ErrorCode[];\n`,
    emit(errorBody.name, [`Schema: \`protocol/schema/${errorBody.file}\`.`]),
  ]);

  const sharedNames = [...types.byName.keys()].filter((n) => types.byName.get(n).where.includes("#/$defs/")).sort();
  section("shared types", sharedNames.map((n) => emit(n)));

  section(
    "methods: params and results",
    methods.flatMap((m) => [
      emit(m.params.name, [`Params of \`${m.method}\`: \`protocol/schema/${m.params.file}\`.`]),
      emit(m.result.name, [`Result of \`${m.method}\`: \`protocol/schema/${m.result.file}\`.`]),
    ]),
  );

  section("events: data", events.map((e) => emit(e.data.name, [`Data of the \`${e.event}\` event: \`protocol/schema/${e.data.file}\`.`])));

  section("envelopes", envelopes.map((e) => emit(e.name, [`The \`${e.kind}\` envelope: \`protocol/schema/${e.file}\`.`])));

  section("start-up: the ready line and the connection file", startup.map((s) => emit(s.name, [`Schema: \`protocol/schema/${s.file}\`.`])));

  const methodEntries = methods
    .map((m) => `${comment([m.doc.replace(/``([^`]+)``/g, "`$1`")], "  ")}  ${m.method}: { params: ${m.params.name}; result: ${m.result.name} };\n`)
    .join("");
  const eventEntries = events.map((e) => `${comment([e.doc], "  ")}  ${e.event}: ${e.data.name};\n`).join("");
  const names = (list) => list.map((n) => `  ${JSON.stringify(n)},\n`).join("");
  section("the method and event tables", [
    `/** Every method: its params and its result. */\nexport interface Methods {\n${methodEntries}}\n`,
    `/** Every method, in the protocol's order. */\nexport const METHOD_NAMES = [\n${names(methods.map((m) => m.method))}] as const satisfies readonly (keyof Methods)[];\n`,
    `/** The methods that accept binary payload frames. */\nexport const PAYLOAD_METHODS = [\n${names(methods.filter((m) => m.payloads).map((m) => m.method))}] as const satisfies readonly (keyof Methods)[];\n`,
    `/** The methods served only by a server started with \`--enable-test-hooks\`. */\nexport const TEST_ONLY_METHODS = [\n${names(methods.filter((m) => m.testOnly).map((m) => m.method))}] as const satisfies readonly (keyof Methods)[];\n`,
    `/** The error codes each method declares (besides ANY_METHOD_ERRORS, which any request may get). */\nexport const METHOD_ERRORS: { readonly [M in keyof Methods]: readonly ErrorCode[] } = {\n${methods
      .map((m) => `  ${m.method}: [${m.errors.map((c) => JSON.stringify(c)).join(", ")}],\n`)
      .join("")}};\n`,
    `/** Every event: the type of its \`data\`. */\nexport interface Events {\n${eventEntries}}\n`,
    `/** Every event, in the protocol's order. */\nexport const EVENT_NAMES = [\n${names(events.map((e) => e.event))}] as const satisfies readonly (keyof Events)[];\n`,
  ]);

  const missing = [...types.byName.keys()].filter((n) => !emitted.has(n));
  if (missing.length) throw new SchemaError("protocol/schema/", `types never emitted: ${missing.join(", ")}`);

  const banner = [
    "// DO NOT EDIT. Generated by scripts/gen-types.mjs from protocol/schema/*.json, the JSON Schema",
    "// exported from the pydantic models in protocol/ (`python -m protocol.schema --write`).",
    `// Regenerate: ${REGENERATE_COMMAND}.`,
    "// test/generated-types.test.ts fails while this file differs from what the schemas generate.",
  ].join("\n");
  return `${banner}\n\n${sections.join("\n")}`;
}

// ---------------------------------------------------------------------------- command line

function main(argv) {
  const check = argv.includes("--check");
  const text = generate();
  const rel = relative(process.cwd(), OUTPUT_FILE) || OUTPUT_FILE;
  let current = null;
  try {
    current = readFileSync(OUTPUT_FILE, "utf8");
  } catch {
    // absent: written below, or reported as drift
  }
  if (check) {
    if (current !== text) {
      console.error(`${rel} is out of date with protocol/schema/: run ${REGENERATE_COMMAND}`);
      process.exit(1);
    }
    console.log(`${rel} is up to date`);
    return;
  }
  if (current === text) {
    console.log(`${rel} is up to date`);
    return;
  }
  mkdirSync(dirname(OUTPUT_FILE), { recursive: true });
  writeFileSync(OUTPUT_FILE, text);
  console.log(`wrote ${rel}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
