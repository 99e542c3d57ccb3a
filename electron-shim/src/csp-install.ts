/**
 * Putting the policy of csp.ts on the app's documents:
 *
 * - `installCsp(session, options)`: an `onHeadersReceived` listener on the app's own document
 *   responses (the `urls` match patterns, resource types mainFrame/subFrame).
 * - `withCsp(response)`: for documents served by `protocol.handle` (webRequest does not fire
 *   for custom protocols, electron/electron#6021), the response carries the header itself.
 *
 * Header names are compared case-insensitively: Electron hands the server's casing through
 * (electron/electron#48365; HTTP/2 sends lower case), and adding `Content-Security-Policy`
 * next to a `content-security-policy` would enforce both policies (their intersection).
 *
 * `Content-Security-Policy-Report-Only` from the server is dropped by default: it blocks
 * nothing, but it fires `securitypolicyviolation` events for media that does play, and those
 * events are exactly what the app uses to tell a CSP-blocked video from a bad codec (both
 * fail with MediaError code 4). Pass `keepReportOnly: true` to keep it.
 */

import type { OnHeadersReceivedListenerDetails, Session } from "electron";

import { type CspOptions, type CspPolicy, DEFAULT_POLICY, buildCsp } from "./csp";
import { type Logger, silentLogger } from "./logger";

export interface InstallCspOptions extends CspOptions {
  /**
   * Match patterns of the app's own documents, e.g. `["https://app.example/*"]`,
   * `["file://*"]`, `["http://localhost:5173/*"]` in development. Required: the policy is
   * the app's, not every site's.
   */
  urls: readonly string[];
  /** Keep a server's Content-Security-Policy-Report-Only header (default: drop it, see above). */
  keepReportOnly?: boolean;
  /** Also set the policy's Cross-Origin-Opener-Policy / -Embedder-Policy (`credentialless`). */
  crossOriginIsolation?: boolean;
  policy?: CspPolicy;
  logger?: Logger;
}

export type ResponseHeaders = Record<string, string[]>;

const CSP = "content-security-policy";
const CSP_REPORT_ONLY = "content-security-policy-report-only";
const DOCUMENT_TYPES: ReadonlySet<string> = new Set(["mainFrame", "subFrame"]);
const installed = new WeakSet<object>();

/**
 * The response headers with every CSP header replaced by ours (case-insensitively), the
 * report-only one dropped unless kept, and COOP/COEP set when given. A fresh object.
 */
export function replaceCspHeaders(
  headers: Readonly<Record<string, readonly string[] | string>>,
  csp: string,
  options: { keepReportOnly?: boolean; crossOrigin?: Readonly<Record<string, string>> } = {},
): ResponseHeaders {
  const replaced = new Set([CSP]);
  if (!options.keepReportOnly) replaced.add(CSP_REPORT_ONLY);
  for (const name of Object.keys(options.crossOrigin ?? {})) replaced.add(name.toLowerCase());
  const out: ResponseHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!replaced.has(name.toLowerCase())) out[name] = Array.isArray(value) ? [...value] : [value as string];
  }
  out["Content-Security-Policy"] = [csp];
  for (const [name, value] of Object.entries(options.crossOrigin ?? {})) out[name] = [value];
  return out;
}

/**
 * Register the CSP listener on `session.webRequest.onHeadersReceived`; returns its disposer.
 *
 * Electron keeps one onHeadersReceived listener per session: a later registration anywhere
 * in the app silently replaces this one. The method is wrapped so that such a registration
 * logs a warning; keep any other header logic in the same listener instead.
 */
export function installCsp(session: Pick<Session, "webRequest">, options: InstallCspOptions): () => void {
  const log = options.logger ?? silentLogger;
  if (!options.urls || options.urls.length === 0) throw new TypeError("installCsp needs the URL patterns of the app's documents");
  const policy = options.policy ?? DEFAULT_POLICY;
  const csp = buildCsp(policy, options, "header");
  const crossOrigin = options.crossOriginIsolation ? policy.crossOrigin : {};
  const webRequest = session.webRequest;
  if (installed.has(webRequest)) {
    log.warn("installCsp: this session already has a CSP listener; the new one replaces it");
  }

  const listener = (
    details: OnHeadersReceivedListenerDetails,
    callback: (response: { responseHeaders?: Record<string, string | string[]> }) => void,
  ): void => {
    if (!DOCUMENT_TYPES.has(details.resourceType)) {
      callback({}); // not a document: headers untouched
      return;
    }
    const responseHeaders = replaceCspHeaders(details.responseHeaders ?? {}, csp, {
      keepReportOnly: options.keepReportOnly ?? false,
      crossOrigin,
    });
    if (!options.crossOriginIsolation) warnRequireCorp(details.responseHeaders, details.url, log);
    callback({ responseHeaders });
  };

  webRequest.onHeadersReceived({ urls: [...options.urls], types: ["mainFrame", "subFrame"] }, listener);
  installed.add(webRequest);

  // Watch for a later registration that would replace ours.
  let active = true;
  const hadOwn = Object.prototype.hasOwnProperty.call(webRequest, "onHeadersReceived");
  const original = webRequest.onHeadersReceived;
  const guarded = function (this: unknown, ...args: unknown[]): void {
    if (active) {
      log.warn(
        "installCsp: another onHeadersReceived listener was registered on this session; " +
          "Electron keeps only the last one, so the media-sidecar CSP is no longer applied",
      );
      active = false;
      installed.delete(webRequest);
    }
    (original as (...a: unknown[]) => void).apply(webRequest, args);
  };
  let patched = false;
  try {
    Object.defineProperty(webRequest, "onHeadersReceived", { value: guarded, configurable: true, writable: true });
    patched = true;
  } catch {
    log.warn("installCsp: a later onHeadersReceived on this session will replace the CSP listener (cannot watch for it)");
  }

  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    if (patched) {
      if (hadOwn) Object.defineProperty(webRequest, "onHeadersReceived", { value: original, configurable: true, writable: true });
      else delete (webRequest as { onHeadersReceived?: unknown }).onHeadersReceived;
    }
    if (active) {
      active = false;
      installed.delete(webRequest);
      webRequest.onHeadersReceived(null);
    }
  };
}

/**
 * A copy of `response` carrying the policy, for `protocol.handle` handlers of the app's
 * documents (webRequest never sees those responses). Existing CSP headers are replaced.
 */
export function withCsp(
  response: Response,
  options: CspOptions & { keepReportOnly?: boolean; crossOriginIsolation?: boolean; policy?: CspPolicy } = {},
): Response {
  const policy = options.policy ?? DEFAULT_POLICY;
  const headers = new Headers(response.headers);
  headers.delete(CSP);
  if (!options.keepReportOnly) headers.delete(CSP_REPORT_ONLY);
  headers.set("Content-Security-Policy", buildCsp(policy, options, "header"));
  if (options.crossOriginIsolation) for (const [name, value] of Object.entries(policy.crossOrigin)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

let warnedRequireCorp = false;
function warnRequireCorp(headers: Record<string, string[]> | undefined, url: string, log: Logger): void {
  if (warnedRequireCorp || !headers) return;
  for (const [name, values] of Object.entries(headers)) {
    if (name.toLowerCase() === "cross-origin-embedder-policy" && values.some((v) => /require-corp/i.test(v))) {
      warnedRequireCorp = true;
      log.warn(
        `installCsp: ${url} sends Cross-Origin-Embedder-Policy: require-corp, which blocks FAL media ` +
          "(no Cross-Origin-Resource-Policy); use crossOriginIsolation: true (credentialless) instead",
      );
    }
  }
}
