/**
 * The Content-Security-Policy as a pure function of the policy data.
 *
 * The data is protocol/csp_policy.json, the one source (copied to src/csp_policy.json by
 * `npm run sync-policy`; a test fails while the copy differs). `"@fal"` in a directive expands
 * to `falHosts`, `"@media"` to the media scheme (`media-sidecar:` by default, the scheme
 * serveMedia answers; renamed by `mediaScheme`, dropped by `mediaScheme: false`);
 * `embedDirectives` are added only when asked for; a `preset` adds its sources (`dev`: the
 * inline preamble of a Vite + React dev server); `metaUnsupported` directives are dropped
 * from the `<meta>` rendering (CSP3: a meta policy ignores them).
 *
 * Nothing here touches Electron: csp-install.ts registers the header, this only renders it.
 */

import policyJson from "./csp_policy.json";

export interface CspPolicy {
  readonly falHosts: readonly string[];
  /** The scheme `"@media"` expands to (`<mediaScheme>:`). */
  readonly mediaScheme: string;
  /** Named sets of extra sources, added by `preset`. */
  readonly presets: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  readonly directives: Readonly<Record<string, readonly string[]>>;
  readonly embedDirectives: readonly string[];
  readonly metaUnsupported: readonly string[];
  readonly crossOrigin: Readonly<Record<string, string>>;
}

export interface CspOptions {
  /** Add the embed directives (child-src, frame-src) allowing `'self'` and the FAL hosts. */
  embed?: boolean;
  /** Add `'unsafe-eval'` to script-src (only if the app really evaluates strings). */
  unsafeEval?: boolean;
  /** More sources per directive, e.g. `{ "connect-src": ["ws://localhost:5173"] }` for a dev server. */
  extraSources?: Readonly<Record<string, readonly string[]>>;
  /** Where violations are reported (header only; a meta policy cannot report). */
  reportUri?: string;
  /**
   * The scheme of the media handler (default: the policy's `mediaScheme`, `media-sidecar`),
   * put in media-src, img-src and connect-src as `<scheme>:`; `false` leaves it out.
   */
  mediaScheme?: string | false;
  /** Add a preset's sources, e.g. `"dev"` while the page comes from a Vite dev server. */
  preset?: string;
}

export type CspTarget = "header" | "meta";

const FAL_TOKEN = "@fal";
const MEDIA_TOKEN = "@media";
const SCHEME_NAME = /^[a-z][a-z0-9+.-]{0,31}$/;
/** Schemes that name far more than the media handler: never accepted as the media scheme. */
const NOT_A_MEDIA_SCHEME = new Set(["http", "https", "ws", "wss", "file", "ftp", "data", "blob", "filesystem", "javascript"]);
const DIRECTIVE_NAME = /^[a-z][a-z-]*$/;
const SOURCE_TOKEN = /^[^\s;,]+$/;
/** Sources that would let any host in: the policy names hosts, never a whole scheme. */
const TOO_BROAD = new Set(["*", "http:", "https:", "ws:", "wss:", "http://*", "https://*"]);

/** The policy shipped with the package (a copy of protocol/csp_policy.json). */
export const DEFAULT_POLICY: CspPolicy = parsePolicy(policyJson);

/** Check the shape of policy data (JSON from protocol/csp_policy.json or elsewhere). */
export function parsePolicy(data: unknown): CspPolicy {
  const d = data as Record<string, unknown> | null;
  const strings = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new TypeError(`policy.${what} must be a list of strings`);
    return [...v];
  };
  if (typeof d !== "object" || d === null) throw new TypeError("the policy must be an object");
  const directives = d["directives"];
  if (typeof directives !== "object" || directives === null) throw new TypeError("policy.directives must be an object");
  const dirs: Record<string, readonly string[]> = {};
  for (const [name, sources] of Object.entries(directives)) {
    if (!DIRECTIVE_NAME.test(name)) throw new TypeError(`bad directive name ${JSON.stringify(name)}`);
    dirs[name] = Object.freeze(strings(sources, `directives.${name}`));
  }
  const crossOrigin = (d["crossOrigin"] ?? {}) as Record<string, unknown>;
  const co: Record<string, string> = {};
  for (const [k, v] of Object.entries(crossOrigin)) {
    if (typeof v !== "string") throw new TypeError(`policy.crossOrigin.${k} must be a string`);
    co[k] = v;
  }
  const mediaScheme = d["mediaScheme"] ?? "media-sidecar";
  if (typeof mediaScheme !== "string") throw new TypeError("policy.mediaScheme must be a string");
  checkMediaScheme(mediaScheme);
  const presetsIn = d["presets"] ?? {};
  if (typeof presetsIn !== "object" || presetsIn === null || Array.isArray(presetsIn)) throw new TypeError("policy.presets must be an object");
  const presets: Record<string, Readonly<Record<string, readonly string[]>>> = {};
  for (const [preset, dirsIn] of Object.entries(presetsIn as Record<string, unknown>)) {
    if (typeof dirsIn !== "object" || dirsIn === null || Array.isArray(dirsIn)) throw new TypeError(`policy.presets.${preset} must be an object`);
    const pd: Record<string, readonly string[]> = {};
    for (const [name, sources] of Object.entries(dirsIn as Record<string, unknown>)) {
      if (!DIRECTIVE_NAME.test(name)) throw new TypeError(`bad directive name ${JSON.stringify(name)}`);
      pd[name] = Object.freeze(strings(sources, `presets.${preset}.${name}`));
    }
    presets[preset] = Object.freeze(pd);
  }
  return Object.freeze({
    falHosts: Object.freeze(strings(d["falHosts"], "falHosts")),
    mediaScheme,
    presets: Object.freeze(presets),
    directives: Object.freeze(dirs),
    embedDirectives: Object.freeze(strings(d["embedDirectives"] ?? [], "embedDirectives")),
    metaUnsupported: Object.freeze(strings(d["metaUnsupported"] ?? [], "metaUnsupported")),
    crossOrigin: Object.freeze(co),
  });
}

/** The directives in order, sources expanded (`@fal` → the FAL hosts), duplicates removed. */
export function cspDirectives(policy: CspPolicy, options: CspOptions = {}, target: CspTarget = "header"): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const scheme = options.mediaScheme === undefined ? policy.mediaScheme : options.mediaScheme;
  if (scheme !== false) checkMediaScheme(scheme);
  const expand = (s: string): readonly string[] => {
    if (s === FAL_TOKEN) return policy.falHosts;
    if (s === MEDIA_TOKEN) return scheme === false ? [] : [`${scheme}:`];
    return [s];
  };
  const add = (name: string, sources: readonly string[]): void => {
    const list = out.get(name) ?? [];
    for (const s of sources) {
      for (const src of expand(s)) if (!list.includes(src)) list.push(src);
    }
    out.set(name, list);
  };
  for (const [name, sources] of Object.entries(policy.directives)) add(name, sources);
  if (options.embed) for (const name of policy.embedDirectives) add(name, ["'self'", FAL_TOKEN]);
  if (options.preset !== undefined) {
    const preset = Object.prototype.hasOwnProperty.call(policy.presets, options.preset) ? policy.presets[options.preset] : undefined;
    if (!preset) throw new TypeError(`no preset ${JSON.stringify(options.preset)} (the policy has: ${Object.keys(policy.presets).join(", ") || "none"})`);
    for (const [name, sources] of Object.entries(preset)) add(name, sources);
  }
  if (options.unsafeEval) add("script-src", ["'unsafe-eval'"]);
  for (const [name, sources] of Object.entries(options.extraSources ?? {})) {
    if (!DIRECTIVE_NAME.test(name)) throw new TypeError(`bad directive name ${JSON.stringify(name)}`);
    for (const s of sources) checkExtraSource(name, s);
    add(name, sources);
  }
  if (options.reportUri !== undefined) {
    if (!SOURCE_TOKEN.test(options.reportUri)) throw new TypeError("reportUri must be one URL");
    out.set("report-uri", [options.reportUri]);
  }
  if (target === "meta") for (const name of policy.metaUnsupported) out.delete(name);
  return out;
}

/** The policy as one header value: `default-src 'self'; script-src 'self'; ...`. */
export function buildCsp(policy: CspPolicy = DEFAULT_POLICY, options: CspOptions = {}, target: CspTarget = "header"): string {
  return [...cspDirectives(policy, options, target)].map(([name, sources]) => (sources.length ? `${name} ${sources.join(" ")}` : name)).join("; ");
}

/** The headers to add to a document response: the CSP, plus COOP/COEP when asked for. */
export function cspHeaders(
  options: CspOptions & { crossOriginIsolation?: boolean } = {},
  policy: CspPolicy = DEFAULT_POLICY,
): Record<string, string> {
  const headers: Record<string, string> = { "Content-Security-Policy": buildCsp(policy, options) };
  if (options.crossOriginIsolation) Object.assign(headers, policy.crossOrigin);
  return headers;
}

/** `<meta http-equiv="Content-Security-Policy" content="...">` for the web build's `<head>`. */
export function cspMetaTag(options: Omit<CspOptions, "reportUri"> = {}, policy: CspPolicy = DEFAULT_POLICY): string {
  return `<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(buildCsp(policy, options, "meta"))}">`;
}

/** A scheme name the media handler may own (not http, https, file, ...: those name far more). */
export function checkMediaScheme(scheme: string): void {
  if (typeof scheme !== "string" || !SCHEME_NAME.test(scheme)) throw new TypeError(`${JSON.stringify(scheme)} is not a URL scheme name`);
  if (NOT_A_MEDIA_SCHEME.has(scheme)) throw new TypeError(`${scheme}: is not the media handler's own scheme; name a custom one`);
}

function checkExtraSource(directive: string, source: string): void {
  if (typeof source !== "string" || !SOURCE_TOKEN.test(source)) {
    throw new TypeError(`${directive}: ${JSON.stringify(source)} is not one source expression`);
  }
  if (TOO_BROAD.has(source.toLowerCase())) {
    throw new TypeError(`${directive}: ${source} would allow every host; name the hosts instead`);
  }
  if (source.toLowerCase() === "'unsafe-eval'") throw new TypeError("use the unsafeEval option to allow 'unsafe-eval'");
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
