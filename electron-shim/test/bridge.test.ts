/**
 * The renderer bridge end to end without Electron: the preload's `mediaStore` (createMediaStore)
 * over a fake ipcRenderer, the main side (registerBridge) over a fake ipcMain, and a fake store
 * behind it that records what reached it. The real sidecar behind the bridge is in
 * integration.test.ts.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { beforeEach, describe, test } from "node:test";

import { type CallOptions, MediaStoreApi } from "../src/api";
import { registerBridge } from "../src/bridge";
import { PRELOAD_PATH } from "../src/index";
import { SidecarError } from "../src/errors";
import { EVENT_CHANNEL, MEDIA_STORE_METHODS, type MediaStore, type SidecarState, createMediaStore, exposeMediaStore, methodChannel } from "../src/preload";
import { ErrorCode, ItemStatus, MediaType, type MethodName, type ParamsOf, type ResultOf, type SidecarEvent } from "../src/protocol";
import { FakeIpcMain, FakePage } from "./support/fake-ipc";
import { PACKAGE_ROOT } from "./support/paths";

interface Call {
  method: string;
  params: unknown;
  payloads: unknown;
  inactivityMs?: number | undefined;
}

class FakeStore extends MediaStoreApi {
  calls: Call[] = [];
  state: SidecarState = "ready";
  answer: (method: string, params: unknown) => unknown = () => ({ ok: 1 });

  override async call<K extends MethodName>(method: K, params: ParamsOf<K>, options: CallOptions = {}): Promise<ResultOf<K>> {
    this.calls.push({ method, params, payloads: options.payloads, inactivityMs: options.inactivityMs });
    return this.answer(method, params) as ResultOf<K>;
  }

  override async callWithPayloads<K extends MethodName>(method: K, params: ParamsOf<K>, options: CallOptions = {}): Promise<{ result: ResultOf<K>; payloads: Uint8Array[] }> {
    return { result: await this.call(method, params, options), payloads: [] };
  }

  push(ev: SidecarEvent): void {
    this.emit("event", ev);
  }

  setState(s: SidecarState): void {
    this.state = s;
    (this.emit as (n: string, ...a: unknown[]) => boolean)("state", s, "ready");
  }
}

const ADD = { projectId: "p1", name: "clip.webm", type: MediaType.video };
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const saved = (id: string, seq: number): SidecarEvent => ({
  name: "itemSaved",
  seq,
  ts: 1,
  data: { item: { id, projectId: "p1" } as never, counts: null },
});

let ipcMain: FakeIpcMain;
let store: FakeStore;
let page: FakePage;
let api: MediaStore;
let logged: string[];

function setup(options: Parameters<typeof registerBridge>[2] = {}): () => void {
  ipcMain = new FakeIpcMain();
  store = new FakeStore();
  page = new FakePage(ipcMain);
  api = createMediaStore(page.ipcRenderer);
  logged = [];
  return registerBridge(ipcMain, store, { logger: { debug() {}, info() {}, warn() {}, error: (m: string) => void logged.push(m) }, ...options });
}

describe("registerBridge", () => {
  beforeEach(() => void setup());

  test("one handler per renderer method, and none for session or test-only methods", () => {
    for (const m of MEDIA_STORE_METHODS) assert.ok(ipcMain.handlers.has(methodChannel(m)), m);
    for (const m of ["hello", "shutdown", "subscribe", "unsubscribe", "testFault"]) assert.ok(!ipcMain.handlers.has(methodChannel(m)), m);
  });

  test("a valid call reaches the store and its result comes back as { ok: true, value }", async () => {
    store.answer = (_m, params) => ({ items: [], nextCursor: null, counts: { total: 0 }, asked: params });
    const out = await api.listMediaItems({ projectId: "p1", status: [ItemStatus.unsaved], limit: 10 });
    assert.deepEqual(out, { ok: true, value: { items: [], nextCursor: null, counts: { total: 0 }, asked: { projectId: "p1", status: [ItemStatus.unsaved], limit: 10 } } });
    assert.deepEqual(store.calls.map((c) => c.method), ["listMediaItems"]);
  });

  test("invalid params never reach the store; the renderer gets the code and the field", async () => {
    const out = await api.addMediaItem({ ...ADD, projectId: "../../etc" });
    assert.deepEqual(out, { ok: false, error: { code: "invalid_params", message: out.ok ? "" : out.error.message, field: "params.projectId", data: null } });
    const extra = await page.ipcRenderer.invoke(methodChannel("getMediaItem"), { id: "a", drop: "table" });
    assert.equal(extra.error.field, "params.drop");
    assert.equal(store.calls.length, 0);
  });

  test("sourcePath is refused from the renderer unless allowed", async () => {
    const out = await api.addMediaItem({ ...ADD, sourcePath: "/etc/passwd" });
    assert.equal(out.ok ? "" : out.error.code, ErrorCode.path_not_allowed);
    assert.equal(store.calls.length, 0);
    setup({ allowSourcePath: true });
    assert.equal((await api.addMediaItem({ ...ADD, sourcePath: "/home/me/clip.webm" })).ok, true);
  });

  test("inline bytes (Uint8Array or ArrayBuffer) arrive as the payload; too many bytes are refused", async () => {
    setup({ maxInlineBytes: 8 });
    assert.equal((await api.addMediaItem(ADD, new Uint8Array([1, 2, 3]))).ok, true);
    assert.equal((await api.addMediaItem(ADD, new Uint8Array([4, 5]).buffer)).ok, true);
    assert.deepEqual(store.calls.map((c) => Array.from(c.payloads as Uint8Array)), [[1, 2, 3], [4, 5]]);
    const big = await api.addMediaItem(ADD, new Uint8Array(9));
    assert.equal(big.ok ? "" : big.error.code, ErrorCode.payload_too_large);
    const wrong = await page.ipcRenderer.invoke(methodChannel("addMediaItem"), ADD, "not bytes");
    assert.equal(wrong.error.field, "bytes");
    const elsewhere = await page.ipcRenderer.invoke(methodChannel("ping"), {}, new Uint8Array(1));
    assert.equal(elsewhere.error.field, "bytes");
    assert.equal(store.calls.length, 2);
  });

  test("the store's SidecarError codes reach the renderer intact; unexpected errors become `internal`", async () => {
    store.answer = () => {
      throw new SidecarError(ErrorCode.not_found, "no item x in p1", { field: "params.id" });
    };
    assert.deepEqual(await api.getMediaItem({ id: "x", projectId: "p1" }), {
      ok: false,
      error: { code: "not_found", message: "no item x in p1", field: "params.id", data: null },
    });
    // Error data reaches the renderer too (a failed download add names the item it left).
    store.answer = () => {
      throw new SidecarError(ErrorCode.download_failed, "gone", { data: { itemId: "i1", status: ItemStatus.urlOnly, created: true } });
    };
    const failed = await api.addMediaItem({ ...ADD, sourceUrl: "https://fal.media/a.mp4", download: true });
    assert.deepEqual(failed.ok ? null : failed.error.data, { itemId: "i1", status: ItemStatus.urlOnly, created: true });
    store.answer = () => {
      throw new TypeError("bug");
    };
    const out = await api.storageStatus();
    assert.equal(out.ok ? "" : out.error.code, ErrorCode.internal);
    assert.equal(logged.length, 1);
  });

  test("a download call's inactivityMs travels from the renderer, within bounds and only for downloads", async () => {
    assert.equal((await api.downloadUrlOnlyItem({ id: "a" }, { inactivityMs: 5_000 })).ok, true);
    assert.equal((await api.addMediaItem({ ...ADD, sourceUrl: "https://fal.media/a.mp4", download: true }, undefined, { inactivityMs: 2_000 })).ok, true);
    assert.deepEqual(store.calls.map((c) => c.inactivityMs), [5_000, 2_000]);
    for (const bad of [999, 30 * 60_000 + 1, 1.5, "60000"]) {
      const out = await api.downloadUrlOnlyItem({ id: "a" }, { inactivityMs: bad as number });
      assert.deepEqual(out.ok ? null : [out.error.code, out.error.field], ["invalid_params", "options.inactivityMs"], String(bad));
    }
    const notDownload = await api.addMediaItem(ADD, new Uint8Array([1]), { inactivityMs: 5_000 });
    assert.deepEqual(notDownload.ok ? null : notDownload.error.field, "options.inactivityMs");
    const extra = await page.ipcRenderer.invoke(methodChannel("downloadAllUrlOnly"), { projectId: "p1" }, undefined, { timeoutMs: 1 });
    assert.equal(extra.error.field, "options");
    assert.equal(store.calls.length, 2);
  });

  test("restart() starts a dead library, and refuses (not_dead) otherwise", async () => {
    let starts = 0;
    (store as FakeStore & { start?: () => Promise<unknown> }).start = async () => {
      starts++;
      store.setState("ready");
    };
    const refused = await api.restart();
    assert.deepEqual(refused.ok ? null : refused.error.code, "not_dead");
    store.setState("dead");
    const out = await api.restart();
    assert.deepEqual(out, { ok: true, value: { state: "ready" } });
    assert.equal(starts, 1);
  });

  test("senders are checked: a vanished frame or a refused origin gets `unauthorized`", async () => {
    page.senderFrame = null;
    assert.equal((await api.ping()).ok, false);
    setup({ allowSender: (e) => e.senderFrame?.url.startsWith("https://app.test/") ?? false });
    page.senderFrame = { url: "https://evil.test/" };
    const out = await api.ping();
    assert.equal(out.ok ? "" : out.error.code, ErrorCode.unauthorized);
    page.senderFrame = { url: "https://app.test/x" };
    assert.equal((await api.ping()).ok, true);
    assert.equal(store.calls.length, 1);
  });

  test("the disposer removes every handler and stops forwarding", async () => {
    const dispose = setup();
    api.onEvent("*", () => assert.fail("no events after dispose"));
    await flush();
    dispose();
    assert.equal(ipcMain.handlers.size, 0);
    store.push(saved("a", 1));
  });
});

describe("events and state in the renderer", () => {
  beforeEach(() => void setup());

  test("onEvent receives the named event; pages get only what they asked for", async () => {
    const other = new FakePage(ipcMain);
    const otherApi = createMediaStore(other.ipcRenderer);
    const got: unknown[] = [];
    const gotOther: string[] = [];
    api.onEvent("itemSaved", (data, ev) => got.push([ev.name, ev.seq, (data as { item: { id: string } }).item.id]));
    otherApi.onEvent("itemRemoved", (_d, ev) => gotOther.push(ev.name));
    await flush();
    store.push(saved("a", 1));
    store.push({ name: "itemRemoved", seq: 2, ts: 1, data: { id: "a", projectId: "p1", counts: null } });
    assert.deepEqual(got, [["itemSaved", 1, "a"]]);
    assert.deepEqual(gotOther, ["itemRemoved"]);
    assert.equal(page.sent.length, 1, "itemRemoved was not sent to the page that did not ask");
  });

  test("'*' receives every event; unsubscribing the last listener stops the traffic", async () => {
    const names: string[] = [];
    const off = api.onEvent("*", (_d, ev) => names.push(ev.name));
    await flush();
    store.push(saved("a", 1));
    store.push({ name: "storageStatusChanged", seq: 2, ts: 1, data: { writable: false, blocked: true, reason: "disk full", error: null } });
    assert.deepEqual(names, ["itemSaved", "storageStatusChanged"]);
    off();
    off(); // idempotent
    await flush();
    store.push(saved("b", 3));
    assert.equal(page.sent.filter((s) => s.channel === EVENT_CHANNEL).length, 2);
    assert.equal(page.listenerCount(EVENT_CHANNEL), 0);
  });

  test("a destroyed page is forgotten, not sent to", async () => {
    api.onEvent("itemSaved", () => undefined);
    await flush();
    page.destroy();
    store.push(saved("a", 1)); // would throw "Object has been destroyed" if sent
    assert.equal(page.sent.length, 0);
  });

  test("a throwing renderer callback does not stop the others", async () => {
    const seen: string[] = [];
    const originalError = console.error;
    console.error = () => undefined;
    try {
      api.onEvent("itemSaved", () => {
        throw new Error("ui bug");
      });
      api.onEvent("itemSaved", (_d, ev) => seen.push(ev.name));
      await flush();
      store.push(saved("a", 1));
    } finally {
      console.error = originalError;
    }
    assert.deepEqual(seen, ["itemSaved"]);
  });

  test("onState gives the state now and on every change", async () => {
    const states: SidecarState[] = [];
    const off = api.onState((s) => states.push(s));
    await flush();
    store.setState("restarting");
    store.setState("dead");
    off();
    store.setState("ready");
    assert.deepEqual(states, ["ready", "restarting", "dead"]);
  });
});

describe("exposeMediaStore", () => {
  test("exposes the store under window.mediaStore through contextBridge", () => {
    ipcMain = new FakeIpcMain();
    page = new FakePage(ipcMain);
    const exposed: Record<string, unknown> = {};
    exposeMediaStore("mediaStore", { contextBridge: { exposeInMainWorld: (k, v) => void (exposed[k] = v) }, ipcRenderer: page.ipcRenderer });
    const store = exposed["mediaStore"] as Record<string, unknown>;
    for (const m of [...MEDIA_STORE_METHODS, "onEvent", "onState"]) assert.equal(typeof store[m], "function", m);
  });

  test("PRELOAD_PATH runs as a sandboxed preload: only `electron` required, window.mediaStore exposed", () => {
    ipcMain = new FakeIpcMain();
    page = new FakePage(ipcMain);
    const exposed: Record<string, unknown> = {};
    const electron = { contextBridge: { exposeInMainWorld: (k: string, v: unknown) => void (exposed[k] = v) }, ipcRenderer: page.ipcRenderer };
    const sandboxedRequire = (name: string): unknown => {
      if (name === "electron") return electron;
      throw new Error(`module not found: ${name}`);
    };
    const code = readFileSync(PRELOAD_PATH, "utf8");
    const module = { exports: {} };
    runInNewContext(`(function (exports, require, module) {${code}\n})`, { console })(module.exports, sandboxedRequire, module);
    assert.equal(typeof (exposed["mediaStore"] as MediaStore | undefined)?.listMediaItems, "function");
  });

  test("the compiled preload requires nothing but electron (it must run as a sandboxed preload)", () => {
    const js = readFileSync(join(PACKAGE_ROOT, "build", "src", "preload.js"), "utf8");
    const required = [...js.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    assert.deepEqual(required, ["electron"]);
  });
});
