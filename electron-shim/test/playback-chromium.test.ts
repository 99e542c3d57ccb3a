/**
 * Playback in a real headless Chromium (Debian's), every status, from the real sidecar.
 *
 * The media handler is mounted behind a local HTTPS origin, `https://item` (the stand-in for
 * the `media-sidecar:` scheme, which Chromium alone cannot register: the URLs keep the
 * handler's form `<scheme>://item/<projectId>/<itemId>`), adapted from node's req/res to
 * Request/Response. The page, on https://app.test, is served under the CSP the shim builds
 * with that origin added to media-src and connect-src. The videos are made by ffmpeg here: a
 * 60 s VP9 webm and a 60 s H.264 mp4 whose `moov` is at the end. The sidecar's data dir is a
 * real tmpfs: two items are saved, then the tmpfs is filled and two more (the same streams,
 * other bytes) stay unsaved with a real ENOSPC — one held in memory, one spilled to a file.
 *
 * Read from the page: saved and unsaved items reach loadedmetadata, `seekable` covers the
 * whole duration and a seek to 50 s lands within 1 s; a urlOnly item plays from the local
 * "fal.media" (its playbackUrl, and the handler's redirect); an expired item's error is told
 * apart from a codec error by fetch() (410 + reason vs. a 200 whose bytes do not decode).
 */

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { DEFAULT_POLICY, buildCsp } from "../src/csp";
import { createMediaHandler } from "../src/media-handler";
import { mediaItemUrl, playbackUrl } from "../src/preload";
import { ByteLocation, ItemStatus, type MediaItem, MediaType } from "../src/protocol";
import type { Supervisor } from "../src/supervisor";
import { openPage } from "./support/chromium";
import { nodeAdapter } from "./support/fetch-adapter";
import { type TestServer, serveBytes, startServer } from "./support/https-server";
import { tempDir } from "./support/paths";
import { PLAY_JS, type PlayCase, type PlayReport, playPageHtml } from "./support/playback-page";
import { sidecarSupervisor } from "./support/sidecar";
import { fillUp, mountTmpfs, unmountTmpfs } from "./support/tmpfs";
import { type TestVideo, makeMp4MoovAtEnd, makeWebm, retitled, topLevelBoxes } from "./support/videos";
import { within } from "./support/wait";

const PROJECT = "playback";
const SCHEME = "https"; // the stand-in origin https://item
const HOSTS = ["app.test", "item", "fal.media", "v3.fal.media"];
const PAGE_TIMEOUT_MS = 90_000;
const PLAYABLE = ["saved-webm", "saved-mp4", "unsaved-webm", "unsaved-mp4", "urlOnly", "urlOnly-redirect"] as const;

interface Served {
  method: string;
  path: string;
  range: string | null;
  status: number;
}

describe("playback in headless Chromium, every status", () => {
  let server: TestServer;
  let sidecar: Supervisor | undefined;
  let mnt = "";
  let mounted = false;
  let handler: ReturnType<typeof createMediaHandler>;
  const served: Served[] = [];
  const items: Record<string, MediaItem> = {};
  let webm: TestVideo;
  let mp4: TestVideo;

  before(async () => {
    webm = makeWebm();
    mp4 = makeMp4MoovAtEnd();
    const webmHeld = retitled(webm, "held");
    const mp4Held = retitled(mp4, "held");

    server = await startServer([...HOSTS, "*.fal.media"]);
    server.route("/files/clip.webm", serveBytes(webm.bytes, "video/webm"));
    server.route("/files/gone.mp4", (_req, res) => res.writeHead(410).end());
    server.route("/play.js", (_req, res) => res.writeHead(200, { "Content-Type": "text/javascript" }).end(PLAY_JS));

    const dir = tempDir("playback");
    mnt = join(dir, "mnt");
    mountTmpfs(mnt, "4m");
    mounted = true;
    const spill = join(dir, "spill");
    mkdirSync(spill, { mode: 0o700 });
    const rules = `MAP fal.media 127.0.0.1:${server.port}, MAP *.fal.media 127.0.0.1:${server.port}`;
    sidecar = sidecarSupervisor({
      dataDir: join(mnt, "data"),
      env: {
        MEDIA_SIDECAR_HOST_RESOLVER_RULES: rules,
        MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES: "1",
        MEDIA_SIDECAR_CA_FILE: server.certFile,
        MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS: "1",
        MEDIA_SIDECAR_AUTO_RETRY: "0",
        MEDIA_SIDECAR_SPILL_DIR: spill,
        // the first unsaved item fits in memory, the second spills to a file
        MEDIA_SIDECAR_HOLD_MEMORY_BUDGET: String(webmHeld.bytes.length + 1024),
      },
    }).supervisor;
    const s = sidecar;
    await within(s.start(), 30_000, "sidecar start");

    const add = async (id: string, v: TestVideo | null, extra: { sourceUrl?: string; mimeType?: string } = {}, bytes?: Buffer): Promise<MediaItem> => {
      const res = await s.addMediaItem(
        { id, projectId: PROJECT, name: id, type: MediaType.video, ...(v ? { mimeType: v.mimeType } : {}), ...extra },
        bytes ?? v?.bytes,
      );
      items[id] = res.item;
      return res.item;
    };
    assert.equal((await add("saved-webm", webm)).status, ItemStatus.saved);
    assert.equal((await add("saved-mp4", mp4)).status, ItemStatus.saved);
    assert.equal((await add("garbage", null, { mimeType: "video/mp4" }, Buffer.alloc(200_000, 0x5a))).status, ItemStatus.saved);
    assert.equal((await add("urlOnly", null, { sourceUrl: "https://v3.fal.media/files/clip.webm" })).status, ItemStatus.urlOnly);
    items["urlOnly-redirect"] = items["urlOnly"]!;
    await add("expired", null, { sourceUrl: "https://fal.media/files/gone.mp4" });
    await assert.rejects(s.downloadUrlOnlyItem({ projectId: PROJECT, id: "expired" }));
    items["expired"] = (await s.getMediaItem({ projectId: PROJECT, id: "expired" })).item;
    assert.equal(items["expired"].status, ItemStatus.expired);

    fillUp(mnt); // the data dir's file system is full: a real ENOSPC from here on
    for (const [id, v] of [["unsaved-webm", webmHeld], ["unsaved-mp4", mp4Held]] as const) {
      const item = await add(id, v);
      assert.equal(item.status, ItemStatus.unsaved, `${id}: ${JSON.stringify(item.storageError)}`);
      assert.equal(item.storageError?.errno, "ENOSPC");
    }
    assert.equal((await s.getMediaSource({ projectId: PROJECT, id: "unsaved-webm" })).bytes, ByteLocation.memory);
    const spilled = await s.getMediaSource({ projectId: PROJECT, id: "unsaved-mp4" });
    assert.equal(spilled.bytes, ByteLocation.file);
    assert.ok(spilled.path?.startsWith(spill), `spilled to ${spilled.path}`);

    handler = createMediaHandler(s, { scheme: SCHEME, allowOrigins: ["https://app.test"] });
    const adapt = nodeAdapter(async (req) => {
      const res = await handler(req);
      served.push({ method: req.method, path: new URL(req.url).pathname, range: req.headers.get("range"), status: res.status });
      return res;
    }, SCHEME);
    server.routeHost("item", adapt);
  });

  after(async () => {
    await sidecar?.stop();
    if (mounted) unmountTmpfs(mnt);
    await server?.close();
  });

  test("the test videos are what the issue describes: 60 s, the mp4's moov after its mdat", () => {
    for (const v of [mp4]) {
      const boxes = topLevelBoxes(v.bytes);
      assert.ok(boxes.indexOf("moov") > boxes.indexOf("mdat") && boxes.indexOf("mdat") >= 0, `boxes: ${boxes.join(",")}`);
    }
    assert.equal(webm.bytes.subarray(0, 4).toString("hex"), "1a45dfa3");
  });

  test("saved, unsaved (memory and spill), urlOnly: metadata, full seekable range, seek to 50 s; expired ≠ codec error", { timeout: 180_000 }, async () => {
    const urlOf = (key: string): string => {
      if (key === "urlOnly-redirect" || key === "expired") return mediaItemUrl(PROJECT, items[key]!.id, SCHEME)!;
      return playbackUrl(items[key]!, { scheme: SCHEME })!;
    };
    assert.equal(playbackUrl(items["expired"]!), null, "an expired item has no playback URL");
    assert.equal(playbackUrl(items["urlOnly"]!), "https://v3.fal.media/files/clip.webm");
    assert.equal(playbackUrl(items["saved-mp4"]!), `media-sidecar://item/${PROJECT}/saved-mp4`);
    const cases: PlayCase[] = [...PLAYABLE, "expired", "garbage"].map((key) => ({ key, src: urlOf(key) }));

    const csp = buildCsp(DEFAULT_POLICY, { extraSources: { "media-src": ["https://item"], "connect-src": ["https://item"] } });
    server.route("/play.html", (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp }).end(playPageHtml(cases));
    });
    const report = await runPage("/play.html");

    for (const key of PLAYABLE) {
      const r = report.results[key];
      const what = `${key}: ${JSON.stringify(r)}`;
      assert.equal(r?.outcome, "seeked", what);
      assert.ok(r.duration !== undefined && Math.abs(r.duration - 60) < 1, what);
      assert.equal(r.seekable?.length, 1, what);
      const [start, end] = r.seekable![0]!;
      assert.ok(start <= 0.01 && end >= r.duration! - 0.5, `seekable covers the whole duration: ${what}`);
      assert.ok(Math.abs(r.seekedTo! - 50) <= 1, `the seek landed at 50 s: ${what}`);
      assert.ok(r.readyStateAfterSeek! >= 2, `a frame at 50 s was decoded: ${what}`);
    }

    const expired = report.results["expired"];
    assert.equal(expired?.outcome, "error", JSON.stringify(expired));
    assert.deepEqual(expired.probe && "status" in expired.probe ? [expired.probe.status, expired.probe.code] : expired.probe, [410, "expired"]);
    assert.match((expired.probe as { text: string }).text, /expired/);
    const garbage = report.results["garbage"];
    assert.equal(garbage?.outcome, "error", JSON.stringify(garbage));
    assert.equal(garbage.mediaErrorCode, 4, "bytes that do not decode: MEDIA_ERR_SRC_NOT_SUPPORTED, like a CSP block");
    assert.ok(garbage.probe && "status" in garbage.probe && garbage.probe.status === 200 && garbage.probe.code === null, JSON.stringify(garbage.probe));

    assert.deepEqual(report.violations, [], "nothing was blocked by the CSP");
    assert.ok(server.requests.includes("v3.fal.media /files/clip.webm"), "the urlOnly item came from fal.media");
    for (const id of ["saved-mp4", "unsaved-mp4", "unsaved-webm", "saved-webm"]) {
      const ranged = served.filter((r) => r.path === `/${PROJECT}/${id}` && r.status === 206);
      assert.ok(ranged.length >= 1, `${id} was served in ranges: ${JSON.stringify(served.filter((r) => r.path.endsWith(id)))}`);
    }
    assert.ok(served.some((r) => r.path === `/${PROJECT}/urlOnly` && r.status === 307), "the scheme URL of a urlOnly item redirected");

    // the browser is gone: every stream it left open was cancelled
    for (let i = 0; i < 100 && handler.openStreams > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(handler.openStreams, 0);
  });

  async function runPage(path: string): Promise<PlayReport> {
    const browser = openPage(`https://app.test${path}`, HOSTS, server.port);
    let timer: NodeJS.Timeout | undefined;
    try {
      return (await Promise.race([
        server.waitForResults(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no report within ${PAGE_TIMEOUT_MS} ms; chromium said:\n${browser.output().slice(-3000)}`)), PAGE_TIMEOUT_MS);
        }),
        new Promise<never>((_, reject) =>
          browser.process.once("exit", (code) => reject(new Error(`chromium exited (${code}) before the page reported:\n${browser.output().slice(-3000)}`))),
        ),
      ])) as PlayReport;
    } finally {
      clearTimeout(timer);
      await browser.close();
    }
  }
});
