/**
 * The `dev` preset, tried as a new user would: a real Vite dev server with
 * `@vitejs/plugin-react` (devDependencies of this package) serves a small React app; its
 * index.html gets the inline module preamble the plugin injects. The page is opened in
 * headless Chromium twice, with the server sending the shim's CSP as its header:
 *
 * - the default policy: the preamble is blocked (a script-src violation for an inline
 *   script) and the React component module refuses to run ("can't detect preamble");
 * - `preset: "dev"`: the component renders, nothing is blocked — and the policy still has no
 *   bare `https:` and no `'unsafe-eval'`.
 *
 * A small reporter module (plain JS, 'self') records later violations, imports the component
 * and POSTs the outcome to the dev server (a middleware of this test's Vite config). The
 * preamble's violation happens while the document is parsed, before any module runs: it is
 * read from the policy's report-uri, which Chromium POSTs to the same dev server.
 */

import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { DEFAULT_POLICY, buildCsp } from "../src/csp";
import { openPage } from "./support/chromium";
import { PACKAGE_ROOT } from "./support/paths";

const T = { timeout: 120_000 };
const PAGE_TIMEOUT_MS = 60_000;

interface DevReport {
  rendered: boolean;
  text?: string;
  error?: string;
  violations: { blockedURI: string; effectiveDirective: string; sample: string }[];
  preamble: boolean;
}

/** The bits of Vite's API this test uses (loaded at run time: vite is ESM-only). */
interface ViteDevServer {
  listen(): Promise<unknown>;
  close(): Promise<void>;
  resolvedUrls: { local: string[] } | null;
  middlewares: { use(fn: (req: IncomingMessage, res: ServerResponse, next: () => void) => void): void };
}
interface ViteApi {
  createServer(config: Record<string, unknown>): Promise<ViteDevServer>;
}

const APP_FILES: Record<string, string> = {
  "index.html": `<!doctype html>
<html><head><meta charset="utf-8"><title>vite dev</title></head>
<body><div id="root"></div><script type="module" src="/src/report.js"></script></body></html>
`,
  // plain JS (no JSX, no components): not instrumented by react-refresh, so it runs either way
  "src/report.js": `
const violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  violations.push({ blockedURI: e.blockedURI, effectiveDirective: e.effectiveDirective, sample: e.sample });
});
const report = (r) => fetch("/__report", { method: "POST", body: JSON.stringify({ ...r, violations, preamble: typeof window.$RefreshReg$ === "function" }) });
import("./main.jsx").then(
  ({ mounted }) => mounted.then((text) => report({ rendered: true, text })),
  (err) => setTimeout(() => report({ rendered: false, error: String(err && err.message || err) }), 200),
);
`,
  "src/main.jsx": `
import { createRoot } from "react-dom/client";
import { App } from "./App.jsx";
export const mounted = new Promise((resolve) => {
  createRoot(document.getElementById("root")).render(<App onMount={resolve} />);
});
`,
  "src/App.jsx": `
import { useEffect } from "react";
export function App({ onMount }) {
  useEffect(() => onMount(document.getElementById("root").textContent), []);
  return <p id="hello">React rendered under the dev CSP</p>;
}
`,
};

describe("the dev preset with a real Vite + React dev server in Chromium", () => {
  let root = "";
  let vite: ViteDevServer | undefined;
  let origin = "";
  let csp = "";
  let waiters: ((r: DevReport) => void)[] = [];
  let cspReports: { "effective-directive"?: string; "blocked-uri"?: string }[] = [];

  before(async () => {
    // Under the package, so that Vite resolves react and react-dom from its node_modules.
    root = join(PACKAGE_ROOT, "build", `vite-app-${process.pid}`);
    for (const [path, text] of Object.entries(APP_FILES)) {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const VITE: string = "vite";
    const PLUGIN: string = "@vitejs/plugin-react";
    const { createServer } = (await import(VITE)) as ViteApi;
    const react = ((await import(PLUGIN)) as { default: () => unknown }).default;
    vite = await createServer({
      root,
      configFile: false,
      cacheDir: join(root, ".vite"),
      logLevel: "silent",
      plugins: [
        react(),
        {
          name: "csp-under-test",
          configureServer(server: ViteDevServer) {
            server.middlewares.use((req, res, next) => {
              if (req.method === "POST" && req.url === "/__csp") {
                const chunks: Buffer[] = [];
                req.on("data", (c: Buffer) => chunks.push(c));
                req.on("end", () => {
                  res.writeHead(204).end();
                  const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { "csp-report": (typeof cspReports)[number] };
                  cspReports.push(body["csp-report"]);
                });
                return;
              }
              if (req.method === "POST" && req.url === "/__report") {
                const chunks: Buffer[] = [];
                req.on("data", (c: Buffer) => chunks.push(c));
                req.on("end", () => {
                  res.writeHead(204).end();
                  const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as DevReport;
                  const w = waiters;
                  waiters = [];
                  for (const fn of w) fn(body);
                });
                return;
              }
              res.setHeader("Content-Security-Policy", csp); // as installCsp puts it on the document
              next();
            });
          },
        },
      ],
      server: { host: "127.0.0.1", port: 0, strictPort: false },
    });
    await vite.listen();
    origin = (vite.resolvedUrls?.local[0] ?? "").replace(/\/$/, "");
    assert.match(origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    await vite?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function load(policy: string): Promise<DevReport> {
    csp = policy;
    cspReports = [];
    const browser = openPage(`${origin}/`, [], 0);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<DevReport>((resolve) => waiters.push(resolve)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no report within ${PAGE_TIMEOUT_MS} ms; chromium said:\n${browser.output().slice(-3000)}`)), PAGE_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await browser.close();
    }
  }

  test("Vite injects an inline preamble into index.html (what the preset is for)", T, async () => {
    const html = await (await fetch(`${origin}/`)).text();
    assert.match(html, /<script type="module">[^<]*\/@react-refresh/);
  });

  test("the default policy: the preamble is blocked and React does not render", T, async () => {
    const report = await load(buildCsp(DEFAULT_POLICY, { reportUri: "/__csp" }));
    assert.equal(report.rendered, false, JSON.stringify(report));
    assert.equal(report.preamble, false);
    for (let i = 0; i < 100 && cspReports.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      cspReports.some((r) => r["effective-directive"] === "script-src-elem" && r["blocked-uri"] === "inline"),
      `the inline preamble was blocked: ${JSON.stringify(cspReports)}`,
    );
    assert.match(report.error ?? "", /preamble|\$Refresh(Reg|Sig)\$/i); // the wording of @vitejs/plugin-react 4-5 / 6
  });

  test("preset dev: the preamble runs, React renders, nothing is blocked; still no https: nor 'unsafe-eval'", T, async () => {
    const policy = buildCsp(DEFAULT_POLICY, { preset: "dev", reportUri: "/__csp" });
    for (const bad of [" https:", "'unsafe-eval'", " *"]) assert.ok(!policy.includes(`${bad};`) && !policy.includes(`${bad} `), `no ${bad}`);
    const report = await load(policy);
    assert.equal(report.rendered, true, JSON.stringify(report));
    assert.equal(report.preamble, true);
    assert.equal(report.text, "React rendered under the dev CSP");
    assert.deepEqual(report.violations, [], "nothing blocked (the HMR websocket is 'self')");
    await new Promise((r) => setTimeout(r, 300)); // a report would have been POSTed by now
    assert.deepEqual(cspReports, []);
  });
});
