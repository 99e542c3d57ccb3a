/**
 * The pure parts of playback: the scheme's privileges and its mounting on a `protocol`
 * (typed by Electron's own `Protocol`), the Range rules, and `playbackUrl` as the renderer
 * gets it from `window.mediaStore`. (The handler against a real sidecar: media-handler.test.ts.)
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import type { CustomScheme, Protocol } from "electron";

import { ifRangeAllows, parseRange, strongEtag } from "../src/http-range";
import { mediaSchemePrivileges, registerMediaScheme, serveMedia } from "../src/media-scheme";
import { createMediaStore, playbackUrl } from "../src/preload";
import { ItemStatus } from "../src/protocol";
import { RENDERER_METHODS } from "../src/validate";
import { FakeIpcMain, FakePage } from "./support/fake-ipc";

type Handler = Parameters<Protocol["handle"]>[1];

/** What the shim calls on Electron's `protocol`, recorded (typed by Electron's Protocol). */
class FakeProtocol implements Pick<Protocol, "registerSchemesAsPrivileged" | "handle" | "unhandle"> {
  registered: CustomScheme[][] = [];
  handlers = new Map<string, Handler>();
  registerSchemesAsPrivileged(customSchemes: CustomScheme[]): void {
    this.registered.push(customSchemes);
  }
  handle(scheme: string, handler: Handler): void {
    if (this.handlers.has(scheme)) throw new Error(`${scheme} is already handled`);
    this.handlers.set(scheme, handler);
  }
  unhandle(scheme: string): void {
    this.handlers.delete(scheme);
  }
}

describe("the media scheme", () => {
  test("privileged for media (standard, secure, fetch, CORS, stream), never bypassCSP; the app's schemes in the same call", () => {
    const protocol = new FakeProtocol();
    const app: CustomScheme = { scheme: "app", privileges: { standard: true, secure: true } };
    registerMediaScheme(protocol, { others: [app] });
    assert.equal(protocol.registered.length, 1, "one registerSchemesAsPrivileged call (Electron takes one)");
    const [first, media] = protocol.registered[0]!;
    assert.deepEqual(first, app);
    assert.equal(media?.scheme, "media-sidecar");
    const p = media?.privileges ?? {};
    assert.deepEqual([p.standard, p.secure, p.supportFetchAPI, p.stream, p.corsEnabled], [true, true, true, true, true]);
    assert.equal(p.bypassCSP, false);
    assert.throws(() => registerMediaScheme(protocol, { others: [{ scheme: "media-sidecar" }] }), /twice/);
    for (const bad of ["https", "file", "Media", "a b"]) assert.throws(() => mediaSchemePrivileges(bad), /scheme/, bad);
  });

  test("serveMedia handles the scheme with the handler; dispose() unhandles it", async () => {
    const protocol = new FakeProtocol();
    const source = {
      getMediaSource: () => Promise.reject(new Error("not called for a bad URL")),
      readMediaRange: () => Promise.reject(new Error("not called")),
    };
    const served = serveMedia(protocol, source, { scheme: "app-media" });
    const handler = protocol.handlers.get("app-media");
    assert.ok(handler);
    const res = await handler(new Request("app-media://item/p"));
    assert.equal(res.status, 400);
    assert.match(res.headers.get("content-security-policy") ?? "", /media-src [^;]*app-media:/);
    served.dispose();
    served.dispose();
    assert.equal(protocol.handlers.size, 0);
  });
});

describe("Range rules", () => {
  test("the three forms, clamping, and what is ignored", () => {
    assert.deepEqual(parseRange("bytes=0-0", 10), { kind: "partial", range: { start: 0, end: 0 } });
    assert.deepEqual(parseRange("bytes=3-", 10), { kind: "partial", range: { start: 3, end: 9 } });
    assert.deepEqual(parseRange("bytes=-3", 10), { kind: "partial", range: { start: 7, end: 9 } });
    assert.deepEqual(parseRange("BYTES=2-100", 10), { kind: "partial", range: { start: 2, end: 9 } });
    for (const h of [null, undefined, "", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-2", "bytes=0-1,3-4", "pages=0-1", `bytes=${"9".repeat(17)}-`]) {
      assert.deepEqual(parseRange(h, 10), { kind: "full" }, String(h));
    }
  });

  test("unsatisfiable: past the end, an empty suffix, any range of an empty item", () => {
    for (const [h, size] of [["bytes=10-", 10], ["bytes=10-20", 10], ["bytes=-0", 10], ["bytes=0-", 0], ["bytes=-5", 0]] as const) {
      assert.deepEqual(parseRange(h, size), { kind: "unsatisfiable" }, `${h} of ${size}`);
    }
  });

  test("If-Range names our strong ETag exactly, or the range is dropped", () => {
    const etag = strongEtag("ab".repeat(32));
    assert.equal(etag, `"${"ab".repeat(32)}"`);
    assert.equal(strongEtag("not a hash"), null);
    assert.equal(ifRangeAllows(undefined, etag), true);
    assert.equal(ifRangeAllows(` ${etag} `, etag), true);
    assert.equal(ifRangeAllows(`W/${etag}`, etag), false);
    assert.equal(ifRangeAllows("Wed, 21 Oct 2015 07:28:00 GMT", etag), false);
    assert.equal(ifRangeAllows(etag!, null), false);
  });
});

describe("playbackUrl in the renderer", () => {
  const base = { id: "i-1", projectId: "p-1" };

  test("by status: the scheme for saved and unsaved, the https sourceUrl for urlOnly, null for expired", () => {
    assert.equal(playbackUrl({ ...base, status: ItemStatus.saved }), "media-sidecar://item/p-1/i-1");
    assert.equal(playbackUrl({ ...base, status: ItemStatus.unsaved }), "media-sidecar://item/p-1/i-1");
    assert.equal(playbackUrl({ ...base, status: ItemStatus.urlOnly, sourceUrl: "https://v3.fal.media/x.mp4" }), "https://v3.fal.media/x.mp4");
    assert.equal(playbackUrl({ ...base, status: ItemStatus.urlOnly, sourceUrl: "http://v3.fal.media/x.mp4" }), null);
    assert.equal(playbackUrl({ ...base, status: ItemStatus.urlOnly, sourceUrl: null }), null);
    assert.equal(playbackUrl({ ...base, status: ItemStatus.expired, sourceUrl: "https://fal.media/x" }), null);
    assert.equal(playbackUrl({ id: "..", projectId: "p", status: ItemStatus.saved }), null);
  });

  test("window.mediaStore.playbackUrl is pure (no IPC), with the app's scheme; the renderer gets no byte-level methods", () => {
    const page = new FakePage(new FakeIpcMain());
    const store = createMediaStore(page.ipcRenderer, { scheme: "app-media" });
    assert.equal(store.playbackUrl({ ...base, status: ItemStatus.saved }), "app-media://item/p-1/i-1");
    assert.equal(page.sent.length, 0);
    assert.throws(() => createMediaStore(page.ipcRenderer, { scheme: "not a scheme" }), /scheme/);
    const renderer: readonly string[] = RENDERER_METHODS;
    assert.ok(!renderer.includes("getMediaSource") && !renderer.includes("readMediaRange"));
  });
});
