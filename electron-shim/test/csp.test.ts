import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import { DEFAULT_POLICY, buildCsp, cspDirectives, cspHeaders, cspMetaTag, parsePolicy } from "../src/csp";
import { withCsp } from "../src/csp-install";
import { PACKAGE_ROOT, REPO_ROOT } from "./support/paths";

const POLICY_SOURCE = join(REPO_ROOT, "protocol", "csp_policy.json");
const POLICY_COPY = join(PACKAGE_ROOT, "src", "csp_policy.json");

function directive(csp: string, name: string): string[] | undefined {
  for (const part of csp.split(";")) {
    const [n, ...sources] = part.trim().split(/\s+/);
    if (n === name) return sources;
  }
  return undefined;
}

describe("the policy data", () => {
  test("the package's copy is byte-identical to protocol/csp_policy.json (run `npm run sync-policy`)", () => {
    assert.equal(readFileSync(POLICY_COPY, "utf8"), readFileSync(POLICY_SOURCE, "utf8"));
  });

  test("the default policy is the data of protocol/csp_policy.json", () => {
    assert.deepEqual(DEFAULT_POLICY, parsePolicy(JSON.parse(readFileSync(POLICY_SOURCE, "utf8"))));
  });

  test("malformed policy data is refused", () => {
    assert.throws(() => parsePolicy({ directives: {} }), /falHosts/);
    assert.throws(() => parsePolicy({ falHosts: [], directives: { "media-src": "x" } }), /list of strings/);
    assert.throws(() => parsePolicy({ falHosts: [], directives: { "media src": [] } }), /bad directive/);
  });
});

describe("buildCsp", () => {
  const csp = buildCsp(DEFAULT_POLICY);

  test("renders every directive of the data, in order, with @fal expanded to the FAL hosts", () => {
    const names = csp.split("; ").map((p) => p.split(" ")[0]);
    assert.deepEqual(names, Object.keys(DEFAULT_POLICY.directives));
    assert.ok(!csp.includes("@fal"));
    for (const name of ["media-src", "img-src", "connect-src"]) {
      const sources = directive(csp, name) ?? [];
      assert.ok(sources.includes("https://fal.media"), `${name} lists https://fal.media`);
      assert.ok(sources.includes("https://*.fal.media"), `${name} lists https://*.fal.media`);
    }
  });

  test("media plays from blob: and data:, never from a bare scheme or wildcard", () => {
    const media = directive(csp, "media-src") ?? [];
    assert.ok(media.includes("blob:") && media.includes("data:"));
    for (const sources of csp.split("; ").map((p) => p.split(" ").slice(1))) {
      for (const bad of ["https:", "http:", "*", "'unsafe-eval'"]) assert.ok(!sources.includes(bad), `no ${bad} in ${sources}`);
    }
  });

  test("embed directives appear only when asked for, with 'self' and the FAL hosts", () => {
    assert.equal(directive(csp, "frame-src"), undefined);
    assert.equal(directive(csp, "child-src"), undefined);
    const embedded = buildCsp(DEFAULT_POLICY, { embed: true });
    for (const name of DEFAULT_POLICY.embedDirectives) {
      assert.deepEqual(directive(embedded, name), ["'self'", "https://fal.media", "https://*.fal.media"]);
    }
  });

  test("'unsafe-eval' is added to script-src only when asked for", () => {
    assert.deepEqual(directive(buildCsp(DEFAULT_POLICY, { unsafeEval: true }), "script-src"), ["'self'", "'unsafe-eval'"]);
  });

  test("extra sources are appended without duplicates; broad or malformed ones are refused", () => {
    const dev = buildCsp(DEFAULT_POLICY, { extraSources: { "connect-src": ["ws://localhost:5173", "'self'"] } });
    assert.deepEqual(directive(dev, "connect-src"), ["'self'", "media-sidecar:", "https://fal.media", "https://*.fal.media", "ws://localhost:5173"]);
    assert.throws(() => buildCsp(DEFAULT_POLICY, { extraSources: { "media-src": ["https:"] } }), /every host/);
    assert.throws(() => buildCsp(DEFAULT_POLICY, { extraSources: { "media-src": ["*"] } }), /every host/);
    assert.throws(() => buildCsp(DEFAULT_POLICY, { extraSources: { "media-src": ["a.test; script-src *"] } }), /one source/);
    assert.throws(() => buildCsp(DEFAULT_POLICY, { extraSources: { "script-src": ["'unsafe-eval'"] } }), /unsafeEval/);
  });

  test("the media scheme: in media-src, img-src and connect-src only; renamed or left out by mediaScheme", () => {
    assert.equal(DEFAULT_POLICY.mediaScheme, "media-sidecar");
    for (const name of ["media-src", "img-src", "connect-src"]) assert.ok(directive(csp, name)?.includes("media-sidecar:"), name);
    for (const name of ["script-src", "style-src", "default-src", "font-src"]) assert.ok(!directive(csp, name)?.includes("media-sidecar:"), name);
    const renamed = buildCsp(DEFAULT_POLICY, { mediaScheme: "app-media" });
    assert.ok(directive(renamed, "media-src")?.includes("app-media:") && !renamed.includes("media-sidecar:"));
    assert.ok(!buildCsp(DEFAULT_POLICY, { mediaScheme: false }).includes("media-sidecar:"));
    assert.ok(!buildCsp(DEFAULT_POLICY).includes("@media"));
    for (const bad of ["https", "file", "data", "Bad", "x y"]) {
      assert.throws(() => buildCsp(DEFAULT_POLICY, { mediaScheme: bad }), /scheme/, bad);
    }
  });

  test("the dev preset adds 'unsafe-inline' to script-src (the Vite + React preamble) and nothing broader", () => {
    const dev = buildCsp(DEFAULT_POLICY, { preset: "dev" });
    assert.deepEqual(directive(dev, "script-src"), ["'self'", "'unsafe-inline'"]);
    for (const sources of dev.split("; ").map((p) => p.split(" ").slice(1))) {
      for (const bad of ["https:", "http:", "*", "'unsafe-eval'"]) assert.ok(!sources.includes(bad), `no ${bad} in ${sources}`);
    }
    assert.ok(!directive(csp, "script-src")?.includes("'unsafe-inline'"), "not by default");
    assert.throws(() => buildCsp(DEFAULT_POLICY, { preset: "prod" }), /no preset/);
  });

  test("the meta rendering drops the directives a meta policy cannot carry", () => {
    const withReport = cspDirectives(DEFAULT_POLICY, { reportUri: "https://app.test/csp" }, "meta");
    for (const name of DEFAULT_POLICY.metaUnsupported) assert.ok(!withReport.has(name), `${name} dropped`);
    assert.ok(cspDirectives(DEFAULT_POLICY, {}, "header").has("frame-ancestors"));
  });

  test("buildCsp is pure: the same input gives the same output and the data is not mutated", () => {
    const before = JSON.stringify(DEFAULT_POLICY);
    assert.equal(buildCsp(DEFAULT_POLICY, { embed: true, unsafeEval: true }), buildCsp(DEFAULT_POLICY, { embed: true, unsafeEval: true }));
    assert.equal(JSON.stringify(DEFAULT_POLICY), before);
  });
});

describe("cspMetaTag and cspHeaders", () => {
  test("the meta tag carries the meta rendering, attribute-escaped", () => {
    const tag = cspMetaTag();
    assert.match(tag, /^<meta http-equiv="Content-Security-Policy" content="[^"]+">$/);
    assert.ok(tag.includes(buildCsp(DEFAULT_POLICY, {}, "meta")));
    assert.ok(!tag.includes("frame-ancestors"));
  });

  test("COOP/COEP come from the data, only when asked for", () => {
    assert.deepEqual(Object.keys(cspHeaders()), ["Content-Security-Policy"]);
    const isolated = cspHeaders({ crossOriginIsolation: true });
    assert.equal(isolated["Cross-Origin-Embedder-Policy"], "credentialless");
    assert.equal(isolated["Cross-Origin-Opener-Policy"], "same-origin");
  });
});

describe("withCsp (protocol.handle responses)", () => {
  test("replaces existing CSP headers and drops report-only, keeping status, body and other headers", async () => {
    const original = new Response("<html></html>", {
      status: 201,
      statusText: "Made",
      headers: {
        "content-security-policy": "media-src https://v3.fal.media",
        "Content-Security-Policy-Report-Only": "default-src 'none'",
        "content-type": "text/html",
      },
    });
    const res = withCsp(original);
    assert.equal(res.status, 201);
    assert.equal(res.statusText, "Made");
    assert.equal(res.headers.get("content-security-policy"), buildCsp());
    assert.equal(res.headers.get("content-security-policy-report-only"), null);
    assert.equal(res.headers.get("content-type"), "text/html");
    assert.equal(await res.text(), "<html></html>");
  });

  test("keeps report-only when asked, and adds COOP/COEP with crossOriginIsolation", () => {
    const res = withCsp(new Response("x", { headers: { "Content-Security-Policy-Report-Only": "default-src 'none'" } }), {
      keepReportOnly: true,
      crossOriginIsolation: true,
    });
    assert.equal(res.headers.get("content-security-policy-report-only"), "default-src 'none'");
    assert.equal(res.headers.get("cross-origin-embedder-policy"), "credentialless");
  });
});
