/**
 * The policy in a real Chromium (Debian's headless build): a page on https://app.test plays a
 * real VP8 clip from fal.media, v3.fal.media, v3b.fal.media, an unlisted host and a blob: URL,
 * all served by one local HTTPS server that Chromium's resolver maps every host to.
 *
 * The header under test is the one installCsp's registered listener produced (invoked with a
 * document response that already carries a lower-case, stricter policy, as an HTTP/2 server
 * would send it) — not a re-typed string. The same page is then served with cspMetaTag() and
 * with withCsp(). Outcomes are read from the page itself (it POSTs its report to the server).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { cspMetaTag } from "../src/csp";
import { installCsp, withCsp } from "../src/csp-install";
import { openPage } from "./support/chromium";
import { PAGE_JS, type PageReport, pageHtml } from "./support/csp-page";
import { fakeSession } from "./support/fake-web-request";
import { FIXTURES } from "./support/paths";
import { type TestServer, serveBytes, startServer } from "./support/https-server";

const FAL_HOSTS = ["fal.media", "v3.fal.media", "v3b.fal.media"] as const;
const UNLISTED = "evil.test";
const PAGE_HOSTS = [...FAL_HOSTS, UNLISTED];
const ALL_HOSTS = ["app.test", ...PAGE_HOSTS];
/** What an HTTP/2 server might already send: lower-case, and it would block fal.media. */
const SERVER_CSP = "media-src https://v3.fal.media";
const PAGE_TIMEOUT_MS = 60_000;

let server: TestServer;

before(async () => {
  server = await startServer([...ALL_HOSTS, "*.fal.media"]);
  server.route("/clip.webm", serveBytes(readFileSync(join(FIXTURES, "clip.webm")), "video/webm"));
  server.route("/page.js", (_req, res) => res.writeHead(200, { "Content-Type": "text/javascript" }).end(PAGE_JS));
});

after(async () => {
  await server?.close();
});

/** What the page did, and which hosts the server saw asking for the clip meanwhile. */
type Run = PageReport & { clipRequests: string[] };

/** Open `path` on app.test and return the page's report. */
async function runPage(path: string): Promise<Run> {
  const seen = server.requests.length;
  const browser = openPage(`https://app.test${path}`, ALL_HOSTS, server.port);
  let timer: NodeJS.Timeout | undefined;
  try {
    const report = await Promise.race([
      server.waitForResults(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no report from the page within ${PAGE_TIMEOUT_MS} ms; chromium said:\n${browser.output().slice(-3000)}`)),
          PAGE_TIMEOUT_MS,
        );
      }),
      new Promise<never>((_, reject) =>
        browser.process.once("exit", (code) => reject(new Error(`chromium exited (${code}) before the page reported:\n${browser.output().slice(-3000)}`))),
      ),
    ]);
    const clipRequests = server.requests.slice(seen).filter((r) => r.endsWith(" /clip.webm")).map((r) => r.split(" ")[0] ?? "");
    return { ...(report as PageReport), clipRequests };
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
}

function assertPolicyHolds(report: Run): void {
  for (const host of FAL_HOSTS) {
    assert.equal(report.results[host]?.outcome, "loaded", `${host} plays: ${JSON.stringify(report.results[host])}`);
  }
  assert.equal(report.results["blob"]?.outcome, "loaded", `blob: plays: ${JSON.stringify(report.results["blob"])}`);

  const unlisted = report.results[UNLISTED];
  assert.equal(unlisted?.outcome, "error", `${UNLISTED} is blocked`);
  const violation = report.violations.find((v) => v.blockedURI.startsWith(`https://${UNLISTED}`));
  assert.ok(violation, `a securitypolicyviolation names ${UNLISTED}: ${JSON.stringify(report.violations)}`);
  assert.equal(violation.effectiveDirective, "media-src");
  assert.equal(violation.disposition, "enforce");

  assert.ok(!report.clipRequests.includes(UNLISTED), "the blocked request never left the browser");
  for (const host of FAL_HOSTS) assert.ok(report.clipRequests.includes(host), `${host} was fetched`);

  const others = report.violations.filter((v) => !v.blockedURI.startsWith(`https://${UNLISTED}`));
  assert.deepEqual(others, [], "nothing else is blocked (the page's own script, fetch and blob: included)");
}

describe("the policy in headless Chromium", () => {
  test("installCsp's header: FAL hosts and blob: play, an unlisted host is blocked", async () => {
    const { session, webRequest } = fakeSession();
    installCsp(session, { urls: ["https://app.test/*"] });
    const response = await webRequest.fire({
      url: "https://app.test/header.html",
      resourceType: "mainFrame",
      responseHeaders: { "content-type": ["text/html; charset=utf-8"], "content-security-policy": [SERVER_CSP] },
    });
    assert.notEqual(response, "not-called");
    const headers = response === "not-called" ? {} : (response.responseHeaders ?? {});
    const html = pageHtml(PAGE_HOSTS);
    server.route("/header.html", (_req, res) => {
      res.writeHead(200, headers); // exactly what the listener called back with
      res.end(html);
    });
    assertPolicyHolds(await runPage("/header.html"));
  });

  test("the server's stricter policy alone would block fal.media (the replacement above matters)", async () => {
    server.route("/server-only.html", (_req, res) => {
      res.writeHead(200, { "content-type": "text/html", "content-security-policy": SERVER_CSP }).end(pageHtml(PAGE_HOSTS));
    });
    const report = await runPage("/server-only.html");
    assert.equal(report.results["v3.fal.media"]?.outcome, "loaded");
    assert.equal(report.results["fal.media"]?.outcome, "error");
    assert.ok(report.violations.some((v) => v.blockedURI.startsWith("https://fal.media")));
  });

  test("cspMetaTag() in <head>: the same outcomes without any header", async () => {
    server.route("/meta.html", (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end(pageHtml(PAGE_HOSTS, cspMetaTag()));
    });
    assertPolicyHolds(await runPage("/meta.html"));
  });

  test("withCsp() on a protocol.handle-style Response: the same outcomes", async () => {
    const response = withCsp(
      new Response(pageHtml(PAGE_HOSTS), { headers: { "content-type": "text/html", "Content-Security-Policy": SERVER_CSP } }),
    );
    const html = await response.text();
    const headers = Object.fromEntries(response.headers);
    server.route("/withcsp.html", (_req, res) => {
      res.writeHead(response.status, headers).end(html);
    });
    assertPolicyHolds(await runPage("/withcsp.html"));
  });
});
