/**
 * The media handler with real Request/Response objects against the real Python sidecar
 * (spawned by the Supervisor): every Range form, HEAD, 416, If-Range, the ETag, each status
 * (saved, unsaved in memory, urlOnly, expired, lost, removed, unknown), bad ids and URLs, streams the
 * consumer cancels (no fd left open: /proc/self/fd is counted), the stream bound, an item
 * saved while it plays, a file that vanished, and a sidecar that is not running.
 */

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { after, afterEach, before, describe, test } from "node:test";

import { buildCsp, DEFAULT_POLICY } from "../src/csp";
import { createMediaHandler, hostAllowed, parseMediaUrl, type MediaBytesSource } from "../src/media-handler";
import { mediaItemUrl, playbackUrl } from "../src/preload";
import { ByteLocation, BytesState, ErrorCode, FaultErrno, FaultOp, ItemStatus, MediaType } from "../src/protocol";
import type { Supervisor } from "../src/supervisor";
import { type TestServer, serveBytes, startServer } from "./support/https-server";
import { sidecarSupervisor } from "./support/sidecar";
import { within } from "./support/wait";
import { wireCheck } from "./support/wire-check";

const T = { timeout: 60_000 };
const P = "proj-play";
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const url = (id: string, project = P): string => `media-sidecar://item/${project}/${id}`;
const openFds = (): number => readdirSync("/proc/self/fd").length;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The fd count once closes still in flight (FileHandle.close is asynchronous) have landed. */
async function settledFds(): Promise<number> {
  let last = openFds();
  for (let stable = 0, i = 0; stable < 3 && i < 200; i++) {
    await sleep(10);
    const now = openFds();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** Wait (bounded) until the fd count is back to `count`; the count then. */
async function fdsBackTo(count: number): Promise<number> {
  for (let i = 0; i < 200 && openFds() !== count; i++) await sleep(10);
  return openFds();
}

function get(u: string, headers: Record<string, string> = {}, method = "GET"): Request {
  return new Request(u, { method, headers });
}

async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

const wire = wireCheck();
afterEach(() => wire.assertClean());

describe("the media handler against a real sidecar", () => {
  let server: TestServer;
  let s: Supervisor;
  let handler: ReturnType<typeof createMediaHandler>;
  const SAVED = randomBytes(3 * 1024 * 1024 + 17); // several file chunks, an odd tail
  const HELD = randomBytes(2 * 1024 * 1024 + 5); // more than one readMediaRange
  let etag: string;

  before(async () => {
    server = await startServer(["fal.media", "*.fal.media"]);
    server.route("/files/gone.webm", (_req, res) => res.writeHead(410).end());
    server.route("/files/clip.webm", serveBytes(Buffer.from("not fetched"), "video/webm"));
    const rules = `MAP fal.media 127.0.0.1:${server.port}, MAP *.fal.media 127.0.0.1:${server.port}`;
    s = sidecarSupervisor({
      env: {
        MEDIA_SIDECAR_HOST_RESOLVER_RULES: rules,
        MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES: "1",
        MEDIA_SIDECAR_CA_FILE: server.certFile,
        MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS: "1",
        MEDIA_SIDECAR_AUTO_RETRY: "0",
      },
    }).supervisor;
    await within(s.start(), 30_000, "sidecar start");
    handler = createMediaHandler(s, { allowOrigins: ["https://app.test"] });
    await s.addMediaItem({ id: "saved", projectId: P, name: "saved.bin", type: MediaType.video, mimeType: "video/webm" }, SAVED);
    etag = `"${sha256(SAVED)}"`;
  });

  after(async () => {
    await s?.stop();
    await server?.close();
  });

  test("GET of a saved item: 200, every byte, the headers a media element needs", T, async () => {
    const res = await handler(get(url("saved"), { Origin: "https://app.test" }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/webm");
    assert.equal(res.headers.get("content-length"), String(SAVED.length));
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    assert.equal(res.headers.get("etag"), etag);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("content-security-policy"), buildCsp(DEFAULT_POLICY));
    assert.match(res.headers.get("content-security-policy") ?? "", /media-src [^;]*media-sidecar:/);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.test");
    assert.ok(sha256(await bytesOf(res)) === sha256(SAVED));
  });

  test("every Range form: 206 with Content-Range and the exact length", T, async () => {
    const size = SAVED.length;
    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 99],
      ["bytes=1000-", 1000, size - 1],
      ["bytes=-100", size - 100, size - 1],
      ["bytes=524280-1572870", 524280, 1572870], // across file chunks
      [`bytes=${size - 1}-${size + 1000}`, size - 1, size - 1], // clamped
      [`bytes=-${size * 2}`, 0, size - 1], // a suffix longer than the item
      ["bytes = 5 - 9", 5, 9],
    ];
    for (const [range, start, end] of cases) {
      const res = await handler(get(url("saved"), { Range: range }));
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/${size}`, range);
      assert.equal(res.headers.get("content-length"), String(end - start + 1), range);
      assert.equal(res.headers.get("etag"), etag);
      assert.ok((await bytesOf(res)).equals(SAVED.subarray(start, end + 1)), range);
    }
  });

  test("unsatisfiable ranges: 416 with Content-Range: bytes */size", T, async () => {
    for (const range of [`bytes=${SAVED.length}-`, `bytes=${SAVED.length + 5}-${SAVED.length + 9}`, "bytes=-0"]) {
      const res = await handler(get(url("saved"), { Range: range }));
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get("content-range"), `bytes */${SAVED.length}`);
      assert.equal(res.headers.get("x-media-sidecar-error"), "range_not_satisfiable");
      await res.arrayBuffer();
    }
  });

  test("ranges the handler ignores (several, malformed, another unit): 200 with everything", T, async () => {
    for (const range of ["bytes=0-1,5-9", "bytes=abc", "bytes=9-5", "items=0-1"]) {
      const res = await handler(get(url("saved"), { Range: range }));
      assert.equal(res.status, 200, range);
      assert.equal(res.headers.get("content-range"), null);
      assert.equal((await bytesOf(res)).length, SAVED.length);
    }
  });

  test("If-Range: our strong ETag → 206; another tag, a weak one or a date → 200", T, async () => {
    const ok = await handler(get(url("saved"), { Range: "bytes=10-19", "If-Range": etag }));
    assert.equal(ok.status, 206);
    assert.ok((await bytesOf(ok)).equals(SAVED.subarray(10, 20)));
    for (const ifRange of [`"${"0".repeat(64)}"`, `W/${etag}`, "Wed, 21 Oct 2015 07:28:00 GMT"]) {
      const res = await handler(get(url("saved"), { Range: "bytes=10-19", "If-Range": ifRange }));
      assert.equal(res.status, 200, ifRange);
      assert.equal((await bytesOf(res)).length, SAVED.length);
    }
  });

  test("HEAD: the same headers, no body, no file opened", T, async () => {
    const before = await settledFds();
    const res = await handler(get(url("saved"), { Range: "bytes=-10" }, "HEAD"));
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-length"), "10");
    assert.equal(res.headers.get("content-range"), `bytes ${SAVED.length - 10}-${SAVED.length - 1}/${SAVED.length}`);
    assert.equal(res.body, null);
    assert.equal(openFds(), before);
    const full = await handler(get(url("saved"), {}, "HEAD"));
    assert.equal(full.status, 200);
    assert.equal(full.headers.get("content-length"), String(SAVED.length));
  });

  test("streams cancelled mid-way (as seeking does) leave no fd open and free their slot", T, async () => {
    // warm up (lazy module loads, the zeromq socket) before counting
    await (await handler(get(url("saved"), { Range: "bytes=0-0" }))).arrayBuffer();
    const before = await settledFds();
    for (let round = 0; round < 3; round++) {
      const bodies = await Promise.all(Array.from({ length: 10 }, (_, i) => handler(get(url("saved"), { Range: `bytes=${i * 1000}-` }))));
      assert.ok(openFds() > before, "each open body holds its file");
      for (const res of bodies) {
        const reader = res.body!.getReader();
        const first = await reader.read();
        assert.ok(first.value && first.value.byteLength > 0);
        await reader.cancel();
      }
    }
    // and bodies read to their end
    for (let i = 0; i < 5; i++) await (await handler(get(url("saved"), { Range: `bytes=${i}-` }))).arrayBuffer();
    // a body whose request is never read but cancelled at once
    await (await handler(get(url("saved")))).body!.cancel();
    assert.equal(await fdsBackTo(before), before, "every fd was closed");
    assert.equal(handler.openStreams, 0);
  });

  test("bounded: beyond maxStreams a request waits, then gets 503 busy; a freed slot serves the next", T, async () => {
    const small = createMediaHandler(s, { maxStreams: 2, queueTimeoutMs: 100 });
    const a = await small(get(url("saved")));
    const b = await small(get(url("saved")));
    assert.equal(small.openStreams, 2);
    const c = await small(get(url("saved")));
    assert.equal(c.status, 503);
    assert.equal(c.headers.get("x-media-sidecar-error"), "busy");
    assert.equal(c.headers.get("retry-after"), "1");
    const waiting = small(get(url("saved"), { Range: "bytes=0-9" }));
    await a.body!.cancel();
    const d = await waiting;
    assert.equal(d.status, 206);
    assert.ok((await bytesOf(d)).equals(SAVED.subarray(0, 10)));
    await b.body!.cancel();
    assert.equal(small.openStreams, 0);
  });

  test("an unsaved item (bytes held in memory) streams through readMediaRange; it keeps playing once saved", T, async () => {
    await s.testFault({ op: FaultOp.blobWrite, errno: FaultErrno.ENOSPC, count: 100 });
    const added = await s.addMediaItem({ id: "held", projectId: P, name: "held.mp4", type: MediaType.video, mimeType: "video/mp4" }, HELD);
    await s.testFault({ op: FaultOp.clear });
    assert.equal(added.item.status, ItemStatus.unsaved);
    const source = await s.getMediaSource({ projectId: P, id: "held" });
    assert.equal(source.bytes, ByteLocation.memory);
    assert.equal(playbackUrl(added.item), url("held"));

    const tail = await handler(get(url("held"), { Range: "bytes=-7" }));
    assert.equal(tail.status, 206);
    assert.ok((await bytesOf(tail)).equals(HELD.subarray(HELD.length - 7)));

    // a full stream, read part way; the item is saved meanwhile; the rest still arrives
    const res = await handler(get(url("held")));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("etag"), `"${sha256(HELD)}"`);
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    const first = await reader.read();
    chunks.push(first.value!);
    const saved = await s.retrySaveItem({ projectId: P, id: "held" });
    assert.equal(saved.item.status, ItemStatus.saved);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    assert.ok(Buffer.concat(chunks).equals(HELD));
    // the next request is served from the blob, same validator
    assert.equal((await s.getMediaSource({ projectId: P, id: "held" })).bytes, ByteLocation.file);
    const again = await handler(get(url("held"), { Range: "bytes=100-199", "If-Range": `"${sha256(HELD)}"` }));
    assert.equal(again.status, 206);
    assert.ok((await bytesOf(again)).equals(HELD.subarray(100, 200)));
  });

  test("a file that vanished between the answer and the open: the handler asks again once", T, async () => {
    let calls = 0;
    const moved: MediaBytesSource = {
      getMediaSource: async (params, options) => {
        const info = await s.getMediaSource(params, options);
        return calls++ === 0 ? { ...info, path: `${info.path}.moved-away` } : info;
      },
      readMediaRange: (params, options) => s.readMediaRange(params, options),
    };
    const res = await createMediaHandler(moved)(get(url("saved"), { Range: "bytes=0-99" }));
    assert.equal(res.status, 206);
    assert.equal(calls, 2);
    assert.ok((await bytesOf(res)).equals(SAVED.subarray(0, 100)));
  });

  test("urlOnly on a FAL host: 307 to its URL (playbackUrl gives that URL directly)", T, async () => {
    const sourceUrl = "https://v3.fal.media/files/clip.webm";
    const added = await s.addMediaItem({ id: "remote", projectId: P, name: "remote.webm", type: MediaType.video, sourceUrl });
    assert.equal(added.item.status, ItemStatus.urlOnly);
    const res = await handler(get(url("remote")));
    assert.equal(res.status, 307);
    assert.equal(res.headers.get("location"), sourceUrl);
    assert.ok(res.headers.get("content-security-policy"));
    assert.equal(playbackUrl(added.item), sourceUrl);
    // the same item with only non-FAL hosts allowed: no redirect, a reason
    const strict = await createMediaHandler(s, { redirectHosts: ["https://cdn.example"] })(get(url("remote")));
    assert.equal(strict.status, 404);
    assert.equal(strict.headers.get("x-media-sidecar-error"), "no_local_bytes");
    assert.match(await strict.text(), /no local bytes \(urlOnly\)/);
  });

  test("expired: 410 with a reason the page can read (CORS for its origin); playbackUrl is null", T, async () => {
    await s.addMediaItem({ id: "gone", projectId: P, name: "gone.webm", type: MediaType.video, sourceUrl: "https://fal.media/files/gone.webm" });
    await assert.rejects(s.downloadUrlOnlyItem({ projectId: P, id: "gone" }), /expired|gone|410/i);
    const item = (await s.getMediaItem({ projectId: P, id: "gone" })).item;
    assert.equal(item.status, ItemStatus.expired);
    assert.equal(playbackUrl(item), null);
    const res = await handler(get(url("gone"), { Origin: "https://app.test" }));
    assert.equal(res.status, 410);
    assert.equal(res.headers.get("x-media-sidecar-error"), "expired");
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.test");
    assert.match(res.headers.get("access-control-expose-headers") ?? "", /X-Media-Sidecar-Error/);
    assert.match(await res.text(), /expired/);
    const head = await handler(get(url("gone"), {}, "HEAD"));
    assert.equal(head.status, 410);
    assert.equal(head.body, null);
  });

  test("lost (held in memory, then the sidecar was SIGKILLed): 410 lost, told apart from expired; playbackUrl is null", T, async () => {
    const { supervisor } = sidecarSupervisor({ env: { MEDIA_SIDECAR_AUTO_RETRY: "0" } });
    try {
      await within(supervisor.start(), 30_000, "lost sidecar start");
      await supervisor.testFault({ op: FaultOp.blobWrite, errno: FaultErrno.ENOSPC, count: 100 });
      const added = await supervisor.addMediaItem({ id: "held-lost", projectId: P, name: "l.webm", type: MediaType.video }, randomBytes(4096));
      assert.equal(added.item.status, ItemStatus.unsaved);
      assert.equal((await supervisor.getMediaSource({ projectId: P, id: "held-lost" })).bytes, ByteLocation.memory);
      const restarted = new Promise<void>((resolve) => supervisor.once("ready", () => resolve()));
      process.kill(supervisor.pid!, "SIGKILL");
      await within(restarted, 30_000, "the restart after SIGKILL");
      const item = (await supervisor.getMediaItem({ projectId: P, id: "held-lost" })).item;
      assert.equal(item.status, ItemStatus.lost);
      assert.equal(item.bytesState, BytesState.gone);
      assert.equal(playbackUrl(item), null);
      assert.equal((await supervisor.getMediaSource({ projectId: P, id: "held-lost" })).bytes, ByteLocation.none);
      const h = createMediaHandler(supervisor, { allowOrigins: ["https://app.test"] });
      const res = await h(get(url("held-lost"), { Origin: "https://app.test", Range: "bytes=0-99" }));
      assert.equal(res.status, 410);
      assert.equal(res.headers.get("x-media-sidecar-error"), "lost");
      assert.match(await res.text(), /lost/);
      const head = await h(get(url("held-lost"), {}, "HEAD"));
      assert.equal(head.status, 410);
      assert.equal(head.body, null);
      // the sidecar's own answer for its bytes: no_local_bytes, status lost
      await assert.rejects(supervisor.readMediaRange({ projectId: P, id: "held-lost", offset: 0, length: 10 }),
        (err: { code?: string; data?: unknown }) => err.code === ErrorCode.no_local_bytes && JSON.stringify(err.data) === '{"status":"lost"}');
    } finally {
      await supervisor.stop();
    }
  });

  test("removed, unknown, another project's: 404 not_found", T, async () => {
    await s.addMediaItem({ id: "doomed", projectId: P, name: "d.bin", type: MediaType.video }, randomBytes(1000));
    assert.equal((await handler(get(url("doomed"), { Range: "bytes=0-9" }))).status, 206);
    await s.removeMediaItem({ projectId: P, id: "doomed" });
    for (const u of [url("doomed"), url("never-added"), url("saved", "other-project")]) {
      const res = await handler(get(u));
      assert.equal(res.status, 404, u);
      assert.equal(res.headers.get("x-media-sidecar-error"), "not_found");
      assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.ok(res.headers.get("content-security-policy"));
      assert.match(await res.text(), /no such item/);
    }
  });

  test("bad URLs and ids: 400 bad_url, nothing asked of the sidecar; other methods: 405", T, async () => {
    const bad = [
      "media-sidecar://item/proj-play",
      "media-sidecar://item/proj-play/saved/extra",
      "media-sidecar://other/proj-play/saved",
      "media-sidecar://item:8080/proj-play/saved",
      "media-sidecar://item/proj-play/sa%2Fved",
      "media-sidecar://item/proj-play/..%2F..%2Fetc%2Fpasswd",
      "media-sidecar://item/proj-play/a%00b",
      `media-sidecar://item/proj-play/${"x".repeat(129)}`,
      "media-sidecar://item//saved",
      "https://item/proj-play/saved",
      "file:///etc/passwd",
    ];
    let asked = 0;
    const counting = createMediaHandler({
      getMediaSource: (p, o) => (asked++, s.getMediaSource(p, o)),
      readMediaRange: (p, o) => s.readMediaRange(p, o),
    });
    for (const u of bad) {
      const res = await counting(get(u));
      assert.equal(res.status, 400, u);
      assert.equal(res.headers.get("x-media-sidecar-error"), "bad_url");
      await res.arrayBuffer();
    }
    assert.equal(asked, 0);
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const res = await counting(new Request(url("saved"), { method }));
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "GET, HEAD");
    }
    assert.equal(parseMediaUrl("media-sidecar://item/a%20b/F09"), null, "' ' is not in the id alphabet");
    assert.equal(parseMediaUrl("media-sidecar://user@item/proj-play/saved"), null, "no credentials");
    assert.deepEqual(parseMediaUrl("media-sidecar://item/a.b:c-d_e/F09?t=1"), { projectId: "a.b:c-d_e", id: "F09" });
    assert.equal(mediaItemUrl("p", ".."), null);
  });

  test("hostAllowed matches the CSP's host sources exactly (fal.media vs *.fal.media)", () => {
    const fal = DEFAULT_POLICY.falHosts;
    assert.ok(hostAllowed("https://fal.media/x", fal));
    assert.ok(hostAllowed("https://v3.fal.media/x", fal));
    assert.ok(!hostAllowed("https://evilfal.media/x", fal));
    assert.ok(!hostAllowed("http://fal.media/x", fal));
    assert.ok(!hostAllowed("https://user@fal.media/x", fal));
    assert.ok(!hostAllowed("https://v3.fal.media/x", ["https://fal.media"]));
    assert.ok(!hostAllowed("https://fal.media/x", ["https://*.fal.media"]));
  });

  test("the sidecar stopped: 503 unavailable at once, never a hang", T, async () => {
    const { supervisor } = sidecarSupervisor();
    await within(supervisor.start(), 30_000, "second sidecar start");
    const h = createMediaHandler(supervisor, { callTimeoutMs: 2_000 });
    await supervisor.stop();
    const res = await within(h(get(url("saved"))), 5_000, "handler answer");
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("x-media-sidecar-error"), "unavailable");
    assert.equal(res.headers.get("retry-after"), "1");
    assert.match(await res.text(), /not available/);
  });

  test("a sidecar that does not answer (SIGSTOPped): 503 unavailable once callTimeoutMs passed", T, async () => {
    const { supervisor } = sidecarSupervisor();
    await within(supervisor.start(), 30_000, "third sidecar start");
    const pid = supervisor.pid!;
    const h = createMediaHandler(supervisor, { callTimeoutMs: 300 });
    process.kill(pid, "SIGSTOP");
    try {
      const res = await within(h(get(url("saved"))), 5_000, "handler answer");
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("x-media-sidecar-error"), "unavailable");
      assert.match(await res.text(), /timeout/);
    } finally {
      process.kill(pid, "SIGCONT");
      await supervisor.stop();
    }
  });

  test("ranges from memory never exceed the server's maxRangeBytes", T, async () => {
    const asked: number[] = [];
    const spy: MediaBytesSource = {
      hello: { limits: { maxRangeBytes: 64 * 1024 } },
      getMediaSource: async (p, o) => ({ ...(await s.getMediaSource(p, o)), bytes: ByteLocation.memory, path: null }),
      readMediaRange: (p, o) => (asked.push(p.length), s.readMediaRange(p, o)),
    };
    const res = await createMediaHandler(spy)(get(url("saved"), { Range: "bytes=0-299999" }));
    assert.equal(res.status, 206);
    assert.ok((await bytesOf(res)).equals(SAVED.subarray(0, 300_000)));
    assert.ok(asked.length >= 5 && asked.every((n) => n <= 64 * 1024), JSON.stringify(asked));
    assert.equal(s.hello?.limits.maxRangeBytes, 4 * 1024 * 1024, "the real server announces 4 MiB");
  });
});
