/**
 * What the renderer may send through the bridge, checked in the main process before anything
 * reaches the sidecar: known fields only, exact types, the protocol's sizes and patterns.
 * The renderer is untrusted (a compromised page must not reach `shutdown`, `testFault`,
 * arbitrary `sourcePath` reads or unbounded buffers), so this is a whitelist, not a sanitiser.
 *
 * The rules are the protocol's (src/generated/params.ts, generated from protocol/schema/ by
 * `npm run gen:types`); written here is only the renderer's policy on top of them: which
 * methods it may call (`MEDIA_STORE_METHODS`, preload.ts) and how large its free-form
 * metadata may be.
 */

import { SidecarError } from "./errors";
import { PARAMS_RULES } from "./generated/params";
import { MEDIA_STORE_METHODS } from "./preload";

/** What one value must be: the schema's type and constraint keywords (generated/params.ts). */
export type ParamRule =
  | { kind: "string"; min?: number; max?: number; pattern?: RegExp; enum?: readonly string[] }
  | { kind: "int"; min?: number; max?: number }
  | { kind: "number"; min?: number; max?: number }
  | { kind: "bool" }
  | { kind: "array"; min?: number; max: number; items: ParamRule }
  /** A closed object with these fields. */
  | { kind: "object"; fields: ParamsRules }
  /** Free-form JSON data; `maxBytes` (of its JSON text) is the caller's policy, not the schema's. */
  | { kind: "json"; maxBytes?: number };

/** One field: its rule, whether it must be present, whether `null` stands for "absent". */
export interface FieldRule {
  rule: ParamRule;
  required?: boolean;
  nullable?: boolean;
}

export type ParamsRules = Readonly<Record<string, FieldRule>>;

/** Metadata is free-form JSON; the server's own cap (maxMetadataBytes) is checked there too. */
export const MAX_METADATA_JSON_BYTES = 64 * 1024;

export type RendererMethod = (typeof MEDIA_STORE_METHODS)[number];
export const RENDERER_METHODS: RendererMethod[] = [...MEDIA_STORE_METHODS];

/** The methods a renderer may call, with their params rules (the protocol's, metadata capped). */
export const RENDERER_RULES: { readonly [M in RendererMethod]: ParamsRules } = Object.fromEntries(
  RENDERER_METHODS.map((method) => [method, withMetadataCap(PARAMS_RULES[method])]),
) as { readonly [M in RendererMethod]: ParamsRules };

function withMetadataCap(rules: ParamsRules): ParamsRules {
  const metadata = rules["metadata"];
  if (metadata?.rule.kind !== "json") return rules;
  return { ...rules, metadata: { ...metadata, rule: { kind: "json", maxBytes: MAX_METADATA_JSON_BYTES } } };
}

export function isRendererMethod(name: unknown): name is RendererMethod {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(RENDERER_RULES, name);
}

/**
 * Check `params` against `rules`; returns a fresh plain object holding only the checked
 * fields (so nothing but plain data reaches msgpack). Throws `invalid_params` naming the field.
 */
export function validateParams(method: string, rules: ParamsRules, params: unknown): Record<string, unknown> {
  return checkFields(method, "params", rules, params === undefined ? {} : params);
}

function checkFields(method: string, at: string, rules: ParamsRules, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(method, at, "must be an object");
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(rules, key)) throw invalid(method, `${at}.${key}`, "is not a known field");
  }
  const out: Record<string, unknown> = {};
  for (const [key, { rule, required, nullable }] of Object.entries(rules)) {
    const field = value[key];
    if (field === undefined) {
      if (required) throw invalid(method, `${at}.${key}`, "is required");
    } else if (field === null && nullable) {
      out[key] = null;
    } else {
      out[key] = check(method, `${at}.${key}`, rule, field);
    }
  }
  return out;
}

/** Check one value; returns it as plain data (a copy for arrays, objects and JSON). */
function check(method: string, field: string, rule: ParamRule, value: unknown): unknown {
  switch (rule.kind) {
    case "string": {
      if (typeof value !== "string") throw invalid(method, field, "must be a string");
      const min = rule.min ?? 0;
      const length = lengthOf(value, rule.max);
      if (length < min || (rule.max !== undefined && length > rule.max)) {
        throw invalid(method, field, rule.max === undefined ? `must be at least ${min} characters` : `must be ${min}..${rule.max} characters`);
      }
      if (rule.pattern && !rule.pattern.test(value)) throw invalid(method, field, `must match ${rule.pattern.source}`);
      if (rule.enum && !rule.enum.includes(value)) throw invalid(method, field, `must be one of ${rule.enum.join(", ")}`);
      return value;
    }
    case "int":
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(method, field, "must be a finite number");
      if (rule.kind === "int" && !Number.isInteger(value)) throw invalid(method, field, "must be an integer");
      if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
        throw invalid(method, field, `must be within ${rule.min ?? "-∞"}..${rule.max ?? "∞"}`);
      }
      return value;
    case "bool":
      if (typeof value !== "boolean") throw invalid(method, field, "must be a boolean");
      return value;
    case "array":
      if (!Array.isArray(value)) throw invalid(method, field, "must be an array");
      if (value.length > rule.max) throw invalid(method, field, `must have at most ${rule.max} items`);
      if (value.length < (rule.min ?? 0)) throw invalid(method, field, `must have at least ${rule.min} items`);
      return value.map((item, i) => check(method, `${field}.${i}`, rule.items, item));
    case "object":
      return checkFields(method, field, rule.fields, value);
    case "json": {
      if (!isPlainObject(value)) throw invalid(method, field, "must be an object");
      let text: string;
      try {
        text = JSON.stringify(value, jsonOnly);
      } catch (err) {
        throw invalid(method, field, `must be plain JSON data (${err instanceof Error ? err.message : String(err)})`);
      }
      if (rule.maxBytes !== undefined && Buffer.byteLength(text, "utf8") > rule.maxBytes) {
        throw invalid(method, field, `must be at most ${rule.maxBytes} bytes as JSON`);
      }
      // Re-parsed so only plain JSON values travel on (no Dates, no prototypes).
      return JSON.parse(text) as unknown;
    }
  }
}

/**
 * A string's length as JSON Schema (and the sidecar) count it, in code points, not UTF-16
 * units; not counted when the units alone show it is over `max` (a code point is ≤ 2 units).
 */
function lengthOf(value: string, max: number | undefined): number {
  if (max !== undefined && value.length > 2 * max) return value.length;
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** JSON.stringify replacer that refuses what JSON cannot say (instead of dropping it). */
function jsonOnly(this: unknown, _key: string, value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("non-finite number");
    return value;
  }
  if (Array.isArray(value) || isPlainObject(value)) return value;
  throw new TypeError(`${Object.prototype.toString.call(value)} is not JSON`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function invalid(method: string, field: string, what: string): SidecarError {
  return new SidecarError("invalid_params", `${field} ${what}`, { field, method });
}

/** Inline bytes from the renderer: a Uint8Array or ArrayBuffer (structured clone keeps them). */
export function validateBytes(method: string, bytes: unknown, maxBytes: number): Uint8Array | undefined {
  if (bytes === undefined || bytes === null) return undefined;
  let view: Uint8Array;
  if (bytes instanceof Uint8Array) view = bytes;
  else if (bytes instanceof ArrayBuffer) view = new Uint8Array(bytes);
  else throw invalid(method, "bytes", "must be a Uint8Array or ArrayBuffer");
  if (view.byteLength > maxBytes) throw new SidecarError("payload_too_large", `bytes: ${view.byteLength} bytes exceed ${maxBytes}`, { field: "bytes", method });
  return view;
}
