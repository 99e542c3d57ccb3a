/** The exported JSON Schema of the protocol (protocol/schema/, generated from the models). */

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { REPO_ROOT } from "./paths";

export const SCHEMA_DIR = join(REPO_ROOT, "protocol", "schema");

export interface SchemaIndex {
  protocolVersion: string;
  errorCodes: Record<string, string>;
  anyMethodErrors: string[];
  methods: Record<string, { params: string; result: string; errors: string[]; payloads: boolean; testOnly: boolean }>;
  events: Record<string, { data: string }>;
}

export type JsonSchema = {
  type?: string;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: string[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
};

export function loadSchema<T = JsonSchema>(file: string): T {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, file), "utf8")) as T;
}

export const schemaIndex = (): SchemaIndex => loadSchema<SchemaIndex>("index.json");

/** The non-null branch of an optional field (`anyOf: [X, {type: null}]`), refs resolved. */
export function nonNull(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  if (s.anyOf) {
    const branches = s.anyOf.filter((b) => b.type !== "null");
    if (branches.length !== 1) throw new Error(`unexpected anyOf ${JSON.stringify(s.anyOf)}`);
    s = branches[0] as JsonSchema;
  }
  if (s.$ref) {
    const name = s.$ref.replace("#/$defs/", "");
    const def = root.$defs?.[name];
    if (!def) throw new Error(`unresolved ${s.$ref}`);
    return nonNull(def, root);
  }
  return s;
}
