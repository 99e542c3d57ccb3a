/**
 * The page of the Chromium playback test. For each case it makes a `<video>` with the URL
 * playbackUrl() gave, waits for `loadedmetadata`, reads `duration` and `seekable`, seeks to
 * 50 s and waits for `seeked` and a decoded frame there. A video that fails records its
 * MediaError code, then asks the same URL with fetch() why (status, X-Media-Sidecar-Error,
 * the text) — how an app tells "expired" from a codec error. Every securitypolicyviolation is
 * recorded. The report is POSTed to /results. Served as a script file ('self' scripts only).
 */

export interface PlayCase {
  key: string;
  src: string;
}

export interface PlayOutcome {
  key: string;
  src: string;
  outcome: "seeked" | "error" | "stuck";
  duration?: number;
  seekable?: [number, number][];
  seekedTo?: number;
  readyStateAfterSeek?: number;
  mediaErrorCode?: number | null;
  probe?: { status: number; code: string | null; text: string } | { failed: string };
  stage?: string;
}

export interface PlayReport {
  results: Record<string, PlayOutcome>;
  violations: { blockedURI: string; effectiveDirective: string }[];
}

export function playPageHtml(cases: readonly PlayCase[]): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>playback test</title></head>
<body data-cases='${JSON.stringify(cases)}'><pre id="out">pending</pre><script src="/play.js"></script></body></html>`;
}

export const PLAY_JS = String.raw`
(async () => {
  const cases = JSON.parse(document.body.dataset.cases);
  const violations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    violations.push({ blockedURI: e.blockedURI, effectiveDirective: e.effectiveDirective });
  });
  const event = (el, name, ms) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    el.addEventListener(name, () => { clearTimeout(timer); resolve(true); }, { once: true });
  });
  async function probe(src) {
    try {
      const res = await fetch(src);
      return { status: res.status, code: res.headers.get("X-Media-Sidecar-Error"), text: (await res.text()).slice(0, 200) };
    } catch (e) {
      return { failed: String(e) };
    }
  }
  async function run({ key, src }) {
    const v = document.createElement("video");
    v.muted = true;
    v.preload = "auto";
    const failed = new Promise((resolve) => v.addEventListener("error", () => resolve(true), { once: true }));
    const out = { key, src, outcome: "stuck", stage: "loadedmetadata" };
    const loaded = event(v, "loadedmetadata", 30000);
    v.src = src;
    document.body.appendChild(v);
    const first = await Promise.race([loaded.then((ok) => (ok ? "loaded" : "timeout")), failed.then(() => "error")]);
    if (first === "error") {
      out.outcome = "error";
      out.mediaErrorCode = v.error && v.error.code;
      out.probe = await probe(src);
      return out;
    }
    if (first !== "loaded") return out;
    out.duration = v.duration;
    out.seekable = [];
    for (let i = 0; i < v.seekable.length; i++) out.seekable.push([v.seekable.start(i), v.seekable.end(i)]);
    out.stage = "seeked";
    const seeked = event(v, "seeked", 30000);
    v.currentTime = 50;
    if (!(await Promise.race([seeked, failed.then(() => false)]))) {
      if (v.error) { out.outcome = "error"; out.mediaErrorCode = v.error.code; }
      return out;
    }
    out.seekedTo = v.currentTime;
    for (let i = 0; i < 300 && v.readyState < 2; i++) await new Promise((r) => setTimeout(r, 50));
    out.readyStateAfterSeek = v.readyState;
    out.outcome = "seeked";
    delete out.stage;
    return out;
  }
  const settled = await Promise.all(cases.map(run));
  const results = {};
  for (const s of settled) results[s.key] = s;
  const report = { results, violations };
  document.getElementById("out").textContent = JSON.stringify(report);
  await fetch("/results", { method: "POST", body: JSON.stringify(report) });
})();
`;
