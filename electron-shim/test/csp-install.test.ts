import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { buildCsp } from "../src/csp";
import { installCsp, replaceCspHeaders } from "../src/csp-install";
import type { Logger } from "../src/logger";
import { fakeSession } from "./support/fake-web-request";

const CSP = buildCsp();

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
}

function cspKeys(headers: Record<string, unknown>): string[] {
  return Object.keys(headers).filter((k) => k.toLowerCase().startsWith("content-security-policy"));
}

describe("replaceCspHeaders", () => {
  test("replaces CSP headers of any casing with exactly one policy", () => {
    const out = replaceCspHeaders(
      {
        "content-security-policy": ["media-src https://v3.fal.media"],
        "CONTENT-SECURITY-POLICY": ["default-src 'none'"],
        "Content-Type": ["text/html"],
      },
      CSP,
    );
    assert.deepEqual(cspKeys(out), ["Content-Security-Policy"]);
    assert.deepEqual(out["Content-Security-Policy"], [CSP]);
    assert.deepEqual(out["Content-Type"], ["text/html"]);
  });

  test("drops report-only unless kept", () => {
    const input = { "content-security-policy-report-only": ["default-src 'none'"] };
    assert.deepEqual(cspKeys(replaceCspHeaders(input, CSP)), ["Content-Security-Policy"]);
    assert.deepEqual(cspKeys(replaceCspHeaders(input, CSP, { keepReportOnly: true })).sort(), [
      "Content-Security-Policy",
      "content-security-policy-report-only",
    ]);
  });
});

describe("installCsp on a session", () => {
  test("registers one onHeadersReceived listener for the app's documents only", () => {
    const { session, webRequest } = fakeSession();
    installCsp(session, { urls: ["https://app.test/*", "file://*"] });
    assert.deepEqual(webRequest.filter, { urls: ["https://app.test/*", "file://*"], types: ["mainFrame", "subFrame"] });
    assert.equal(webRequest.registrations, 1);
  });

  test("replaces mixed-case existing policies on a document response", async () => {
    const { session, webRequest } = fakeSession();
    installCsp(session, { urls: ["https://app.test/*"] });
    const res = await webRequest.fire({
      url: "https://app.test/index.html",
      resourceType: "mainFrame",
      responseHeaders: {
        "content-security-policy": ["media-src https://v3.fal.media"],
        "Content-Security-Policy": ["default-src 'self'"],
        "Content-Security-Policy-Report-Only": ["default-src 'none'"],
        "content-type": ["text/html"],
        "Set-Cookie": ["a=1", "b=2"],
      },
    });
    assert.notEqual(res, "not-called");
    if (res === "not-called") return;
    const headers = res.responseHeaders ?? {};
    assert.deepEqual(cspKeys(headers), ["Content-Security-Policy"]);
    assert.deepEqual(headers["Content-Security-Policy"], [CSP]);
    assert.deepEqual(headers["Set-Cookie"], ["a=1", "b=2"]);
    assert.deepEqual(headers["content-type"], ["text/html"]);
    assert.equal(res.statusLine, undefined, "the status line is left alone");
    assert.equal(res.cancel, undefined);
  });

  test("adds the policy to a subframe that had none", async () => {
    const { session, webRequest } = fakeSession();
    installCsp(session, { urls: ["https://app.test/*"] });
    const res = await webRequest.fire({ url: "https://app.test/frame.html", resourceType: "subFrame" });
    assert.notEqual(res, "not-called");
    if (res !== "not-called") assert.deepEqual(res.responseHeaders, { "Content-Security-Policy": [CSP] });
  });

  test("leaves non-document responses untouched even when the filter lets them through", async () => {
    const { session, webRequest } = fakeSession();
    installCsp(session, { urls: ["https://app.test/*"] });
    webRequest.filter = { urls: ["<all_urls>"] }; // as if the types filter were not honoured
    for (const resourceType of ["media", "script", "image", "xhr", "stylesheet", "other"] as const) {
      const res = await webRequest.fire({
        url: "https://fal.media/v.webm",
        resourceType,
        responseHeaders: { "content-security-policy": ["sandbox"] },
      });
      assert.deepEqual(res, {}, `${resourceType} untouched`);
    }
  });

  test("adds COOP/COEP (credentialless) only with crossOriginIsolation, replacing a require-corp", async () => {
    const { session, webRequest } = fakeSession();
    installCsp(session, { urls: ["https://app.test/*"], crossOriginIsolation: true });
    const res = await webRequest.fire({
      url: "https://app.test/",
      resourceType: "mainFrame",
      responseHeaders: { "cross-origin-embedder-policy": ["require-corp"] },
    });
    assert.notEqual(res, "not-called");
    if (res === "not-called") return;
    assert.deepEqual(res.responseHeaders?.["Cross-Origin-Embedder-Policy"], ["credentialless"]);
    assert.equal(res.responseHeaders?.["cross-origin-embedder-policy"], undefined);
  });

  test("warns about a server's COEP require-corp when isolation is off", async () => {
    const { session, webRequest } = fakeSession();
    const logger = recordingLogger();
    installCsp(session, { urls: ["https://app.test/*"], logger });
    await webRequest.fire({ url: "https://app.test/", resourceType: "mainFrame", responseHeaders: { "Cross-Origin-Embedder-Policy": ["require-corp"] } });
    assert.ok(logger.warnings.some((w) => w.includes("require-corp")));
  });

  test("warns when a later onHeadersReceived on the same session replaces it", async () => {
    const { session, webRequest } = fakeSession();
    const logger = recordingLogger();
    installCsp(session, { urls: ["https://app.test/*"], logger });
    assert.equal(logger.warnings.length, 0);
    session.webRequest.onHeadersReceived((_d, cb) => cb({}));
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0] ?? "", /only the last one/);
    const res = await webRequest.fire({ url: "https://app.test/", resourceType: "mainFrame", responseHeaders: {} });
    assert.deepEqual(res, {}, "the later listener is the one Electron calls");
  });

  test("the disposer removes the listener and restores onHeadersReceived", async () => {
    const { session, webRequest } = fakeSession();
    const logger = recordingLogger();
    const dispose = installCsp(session, { urls: ["https://app.test/*"], logger });
    dispose();
    assert.equal(webRequest.listener, null);
    assert.equal(await webRequest.fire({ url: "https://app.test/", resourceType: "mainFrame" }), "not-called");
    assert.equal(Object.prototype.hasOwnProperty.call(webRequest, "onHeadersReceived"), false);
    session.webRequest.onHeadersReceived(null);
    assert.equal(logger.warnings.length, 0, "no warning after dispose");
    dispose(); // idempotent
  });

  test("disposing after being replaced leaves the other listener in place", async () => {
    const { session, webRequest } = fakeSession();
    const dispose = installCsp(session, { urls: ["https://app.test/*"] });
    const other = (_d: unknown, cb: (r: object) => void): void => cb({ cancel: false });
    session.webRequest.onHeadersReceived(other);
    dispose();
    assert.equal(webRequest.listener, other);
  });

  test("refuses an empty URL list: the policy is for the app's own documents", () => {
    const { session } = fakeSession();
    assert.throws(() => installCsp(session, { urls: [] }), /URL patterns/);
  });
});
