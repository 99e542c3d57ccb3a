/**
 * The page of the Chromium CSP tests. It plays the clip from each host (and as a blob: URL),
 * records `loadeddata` / `error` per video and every `securitypolicyviolation`, writes the
 * result into the DOM and POSTs it to /results. Served as a script file: the policy allows
 * only 'self' scripts, so the page also shows that the app's own script still runs.
 */

export interface VideoOutcome {
  key: string;
  src: string;
  outcome: "loaded" | "error" | "fetch-failed";
  code?: number | null;
  message?: string;
}
export interface Violation {
  blockedURI: string;
  effectiveDirective: string;
  disposition: string;
}
export interface PageReport {
  results: Record<string, VideoOutcome>;
  violations: Violation[];
}

export function pageHtml(hosts: readonly string[], head = ""): string {
  return `<!doctype html>
<html><head><meta charset="utf-8">${head}<title>csp test</title></head>
<body data-hosts='${JSON.stringify(hosts)}'><pre id="out">pending</pre><script src="/page.js"></script></body></html>`;
}

export const PAGE_JS = String.raw`
(async () => {
  const hosts = JSON.parse(document.body.dataset.hosts);
  const violations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    violations.push({ blockedURI: e.blockedURI, effectiveDirective: e.effectiveDirective, disposition: e.disposition });
  });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  function play(key, src) {
    return new Promise((resolve) => {
      const v = document.createElement("video");
      v.muted = true;
      v.preload = "auto";
      v.addEventListener("loadeddata", () => resolve({ key, src, outcome: "loaded" }), { once: true });
      v.addEventListener("error", () => resolve({ key, src, outcome: "error", code: v.error && v.error.code }), { once: true });
      v.src = src;
      document.body.appendChild(v);
    });
  }
  const jobs = hosts.map((h) => play(h, "https://" + h + "/clip.webm?host=" + h));
  jobs.push((async () => {
    try {
      const blob = await (await fetch("/clip.webm")).blob();
      return await play("blob", URL.createObjectURL(blob));
    } catch (e) {
      return { key: "blob", src: "blob:", outcome: "fetch-failed", message: String(e) };
    }
  })());
  const settled = await Promise.all(jobs);
  // A blocked video's violation event is queued separately from its error: wait for it.
  for (const s of settled) {
    if (s.outcome !== "error") continue;
    const prefix = s.src.startsWith("blob:") ? "blob" : new URL(s.src).origin;
    for (let i = 0; i < 100 && !violations.some((v) => v.blockedURI.startsWith(prefix)); i++) await sleep(20);
  }
  const results = {};
  for (const s of settled) results[s.key] = s;
  const report = { results, violations };
  document.getElementById("out").textContent = JSON.stringify(report);
  await fetch("/results", { method: "POST", body: JSON.stringify(report) });
})();
`;
