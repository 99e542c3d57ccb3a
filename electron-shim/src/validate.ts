/**
 * What the renderer may send through the bridge, checked in the main process before anything
 * reaches the sidecar: known fields only, exact types, the protocol's sizes and patterns.
 * The renderer is untrusted (a compromised page must not reach `shutdown`, `testFault`,
 * arbitrary `sourcePath` reads or unbounded buffers), so this is a whitelist, not a sanitiser.
 *
 * The rules mirror the params models (protocol/media.py, downloads.py);
 * `test/validate.test.ts` checks the field names, bounds and patterns against the exported
 * JSON Schema in protocol/schema/.
 */

import { SidecarError } from "./errors";
import type * as P from "./protocol";

type Rule =
  | { kind: "string"; min?: number; max: number; pattern?: RegExp; enum?: readonly string[] }
  | { kind: "int"; min?: number; max?: number }
  | { kind: "number"; min?: number; max?: number }
  | { kind: "bool" }
  | { kind: "array"; max: number; items: Rule }
  | { kind: "json"; maxBytes: number };

interface FieldRule {
  rule: Rule;
  required?: boolean;
}
export type ParamsRules = Readonly<Record<string, FieldRule>>;

const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
const ID: Rule = { kind: "string", min: 1, max: 128, pattern: ID_PATTERN };
const MEDIA_TYPES = ["video", "image", "audio"] as const;
const STATUSES = ["saved", "unsaved", "urlOnly", "expired", "lost"] as const;
/** Metadata is free-form JSON; the server's own cap (maxMetadataBytes) is checked there too. */
export const MAX_METADATA_JSON_BYTES = 64 * 1024;

const ITEM_REF: ParamsRules = { id: { rule: ID, required: true }, projectId: { rule: ID } };
const PROJECT: ParamsRules = { projectId: { rule: ID, required: true } };

/** The methods a renderer may call, with their params rules. */
export const RENDERER_RULES = {
  ping: {},
  addMediaItem: {
    id: { rule: ID },
    projectId: { rule: ID, required: true },
    name: { rule: { kind: "string", min: 1, max: 255 }, required: true },
    type: { rule: { kind: "string", max: 16, enum: MEDIA_TYPES }, required: true },
    mimeType: { rule: { kind: "string", max: 255 } },
    width: { rule: { kind: "int", min: 0, max: 1_000_000 } },
    height: { rule: { kind: "int", min: 0, max: 1_000_000 } },
    duration: { rule: { kind: "number", min: 0 } },
    fps: { rule: { kind: "number", min: 0, max: 10_000 } },
    folderIds: { rule: { kind: "array", max: 256, items: { kind: "string", min: 1, max: 128 } } },
    metadata: { rule: { kind: "json", maxBytes: MAX_METADATA_JSON_BYTES } },
    sourceUrl: { rule: { kind: "string", min: 1, max: 4096 } },
    sourcePath: { rule: { kind: "string", min: 1, max: 4096 } },
    download: { rule: { kind: "bool" } },
    expectedSha256: { rule: { kind: "string", max: 64, pattern: /^[0-9a-f]{64}$/ } },
  },
  getMediaItem: ITEM_REF,
  removeMediaItem: ITEM_REF,
  listMediaItems: {
    projectId: { rule: ID, required: true },
    type: { rule: { kind: "string", max: 16, enum: MEDIA_TYPES } },
    status: { rule: { kind: "array", max: 5, items: { kind: "string", max: 16, enum: STATUSES } } },
    folderId: { rule: { kind: "string", min: 1, max: 128 } },
    text: { rule: { kind: "string", max: 256 } },
    sort: { rule: { kind: "string", max: 16, enum: ["createdAt", "updatedAt", "name", "size"] } },
    order: { rule: { kind: "string", max: 4, enum: ["asc", "desc"] } },
    limit: { rule: { kind: "int", min: 1, max: 500 } },
    cursor: { rule: { kind: "string", max: 1024 } },
  },
  retrySaveItem: ITEM_REF,
  retryAllUnsaved: PROJECT,
  storageStatus: {},
  downloadUrlOnlyItem: ITEM_REF,
  downloadAllUrlOnly: PROJECT,
  cancelDownload: ITEM_REF,
  listDownloads: { projectId: { rule: ID } },
} as const satisfies Partial<Record<P.MethodName, ParamsRules>>;

export type RendererMethod = keyof typeof RENDERER_RULES;
export const RENDERER_METHODS = Object.keys(RENDERER_RULES) as RendererMethod[];

export function isRendererMethod(name: unknown): name is RendererMethod {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(RENDERER_RULES, name);
}

/**
 * Check `params` against `rules`; returns a fresh plain object holding only the checked
 * fields (so nothing but plain data reaches msgpack). Throws `invalid_params` naming the field.
 */
export function validateParams(method: string, rules: ParamsRules, params: unknown): Record<string, unknown> {
  if (params === undefined) params = {};
  if (!isPlainObject(params)) throw invalid(method, "params", "must be an object");
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(params)) {
    if (!Object.prototype.hasOwnProperty.call(rules, key)) throw invalid(method, `params.${key}`, "is not a known field");
  }
  for (const [key, { rule, required }] of Object.entries(rules)) {
    const value = params[key];
    if (value === undefined) {
      if (required) throw invalid(method, `params.${key}`, "is required");
      continue;
    }
    check(method, `params.${key}`, rule, value);
    // JSON data is re-parsed so only plain JSON values travel on (no Dates, no prototypes).
    out[key] = rule.kind === "json" ? JSON.parse(JSON.stringify(value)) : Array.isArray(value) ? [...value] : value;
  }
  return out;
}

function check(method: string, field: string, rule: Rule, value: unknown): void {
  switch (rule.kind) {
    case "string":
      if (typeof value !== "string") throw invalid(method, field, "must be a string");
      if (value.length < (rule.min ?? 0) || value.length > rule.max) {
        throw invalid(method, field, `must be ${rule.min ?? 0}..${rule.max} characters`);
      }
      if (rule.pattern && !rule.pattern.test(value)) throw invalid(method, field, `must match ${rule.pattern.source}`);
      if (rule.enum && !rule.enum.includes(value)) throw invalid(method, field, `must be one of ${rule.enum.join(", ")}`);
      return;
    case "int":
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(method, field, "must be a finite number");
      if (rule.kind === "int" && !Number.isInteger(value)) throw invalid(method, field, "must be an integer");
      if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
        throw invalid(method, field, `must be within ${rule.min ?? "-∞"}..${rule.max ?? "∞"}`);
      }
      return;
    case "bool":
      if (typeof value !== "boolean") throw invalid(method, field, "must be a boolean");
      return;
    case "array":
      if (!Array.isArray(value)) throw invalid(method, field, "must be an array");
      if (value.length > rule.max) throw invalid(method, field, `must have at most ${rule.max} items`);
      value.forEach((item, i) => check(method, `${field}.${i}`, rule.items, item));
      return;
    case "json": {
      if (!isPlainObject(value)) throw invalid(method, field, "must be an object");
      let size: number;
      try {
        size = Buffer.byteLength(JSON.stringify(value, jsonOnly), "utf8");
      } catch (err) {
        throw invalid(method, field, `must be plain JSON data (${err instanceof Error ? err.message : String(err)})`);
      }
      if (size > rule.maxBytes) throw invalid(method, field, `must be at most ${rule.maxBytes} bytes as JSON`);
      return;
    }
  }
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
