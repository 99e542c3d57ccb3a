/**
 * The shim against the real Python sidecar (`python -m sidecar serve`), spawned by the
 * Supervisor: every method it serves, inline bytes, downloads from a local HTTPS "fal.media",
 * events (emitter, async iterator, and through the renderer bridge), crash → reject pending →
 * restart, five crashes → dead, and the stop sequence. Every message on the wire, both ways,
 * is validated against protocol/schema/ (support/wire-check.ts through the client's onMessage
 * observer): each test fails on a violation, and the last one checks every method and event
 * was among them.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";

import { registerBridge } from "../src/bridge";
import { SidecarError } from "../src/errors";
import { createMediaStore } from "../src/preload";
import { ByteLocation, BytesState, DownloadOutcome, ErrorCode, ErrorType, type Events, FaultErrno, FaultOp, ItemStatus, type MediaItem, MediaType, type SidecarEvent, SortKey, SortOrder } from "../src/protocol";
import type { CrashInfo, Supervisor } from "../src/supervisor";
import { FakeIpcMain, FakePage } from "./support/fake-ipc";
import { type TestServer, serveBytes, startServer } from "./support/https-server";
import { FIXTURES } from "./support/paths";
import { schemaIndex } from "./support/schema";
import { sidecarSupervisor } from "./support/sidecar";
import { wireCheck } from "./support/wire-check";
import { WAIT_MS, nextEmit, within } from "./support/wait";

const CLIP = readFileSync(join(FIXTURES, "clip.webm"));
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const T = { timeout: 90_000 };

async function rejection(p: Promise<unknown>): Promise<SidecarError> {
  try {
    await within(p, WAIT_MS, "the call's rejection");
  } catch (err) {
    assert.ok(err instanceof SidecarError, `a SidecarError, got ${String(err)}`);
    return err;
  }
  assert.fail("did not reject");
}

function nextEvent<E extends keyof Events>(s: Supervisor, name: E, match: (data: Events[E]) => boolean = () => true): Promise<Events[E]> {
  return nextEmit<[Events[E]]>(s, name, (data) => match(data)).then(([data]) => data);
}

// sidecarSupervisor() plugs this checker into every supervisor it makes.
const wire = wireCheck();
afterEach(() => wire.assertClean());

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("every method against the real sidecar", () => {
  let server: TestServer;
  let s: Supervisor;
  let logs: string[];
  let slowRequested: () => void = () => undefined;
  let dataDir = "";
  const project = "proj-1";
  const TRICKLE = Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.alloc(80 * 1024, i + 1)));

  before(async () => {
    server = await startServer(["fal.media", "*.fal.media"]);
    server.route("/files/clip.webm", serveBytes(CLIP, "video/webm"));
    server.route("/files/gone.webm", (_req, res) => res.writeHead(410).end());
    server.route("/files/slow.webm", (_req, res) => {
      // Headers and a first chunk, then nothing: a download that only cancel can end.
      res.writeHead(200, { "Content-Type": "video/webm", "Content-Length": String(10 * CLIP.length) });
      res.write(CLIP);
      slowRequested();
    });
    server.route("/files/trickle.webm", (_req, res) => {
      // Moving all the time, slowly: 8 pieces 400 ms apart (about 3 s in all).
      res.writeHead(200, { "Content-Type": "video/webm", "Content-Length": String(TRICKLE.length) });
      const piece = TRICKLE.length / 8;
      let i = 0;
      const next = (): void => {
        res.write(TRICKLE.subarray(i * piece, (i + 1) * piece));
        if (++i < 8) setTimeout(next, 400);
        else res.end();
      };
      next();
    });
    const rules = `MAP fal.media 127.0.0.1:${server.port}, MAP *.fal.media 127.0.0.1:${server.port}`;
    const made = sidecarSupervisor({
      env: {
        MEDIA_SIDECAR_HOST_RESOLVER_RULES: rules,
        MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES: "1",
        MEDIA_SIDECAR_CA_FILE: server.certFile,
        MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS: "1",
        // Unsaved bytes go straight to spill files (<data>/spill/held), where a test loses one.
        MEDIA_SIDECAR_HOLD_MEMORY_BUDGET: "0",
      },
    });
    s = made.supervisor;
    dataDir = made.dataDir;
    logs = made.logger.lines;
    await within(s.start(), 30_000, "sidecar start");
  });

  after(async () => {
    await s?.stop();
    await server?.close();
  });

  test("ready means hello was answered: the server lists every protocol method", T, () => {
    assert.equal(s.state, "ready");
    const hello = s.hello;
    assert.ok(hello);
    assert.equal(hello.protocol.split(".")[0], "1");
    assert.ok(hello.methods.includes("testFault"), "test hooks are on");
    assert.equal(typeof s.pid, "number");
  });

  test("ping", T, async () => {
    const pong = await s.ping();
    assert.equal(pong.pong, true);
    assert.equal(typeof pong.uptimeMs, "number");
  });

  test("addMediaItem with inline bytes (one buffer): saved, content-hashed, itemAdded + itemSaved", T, async () => {
    const added = nextEvent(s, "itemAdded", (d) => d.item.name === "inline.webm");
    const savedEvent = nextEvent(s, "itemSaved", (d) => d.item.name === "inline.webm");
    const res = await s.addMediaItem({ id: "inline-1", projectId: project, name: "inline.webm", type: MediaType.video, mimeType: "video/webm" }, CLIP);
    assert.equal(res.created, true);
    assert.equal(res.durable, true);
    assert.equal(res.item.status, ItemStatus.saved);
    assert.equal(res.item.size, CLIP.length);
    assert.equal(res.item.sha256, sha256(CLIP));
    assert.equal((await added).item.id, "inline-1");
    assert.equal((await savedEvent).item.id, "inline-1");
    assert.deepEqual(readFileSync(res.item.localPath ?? ""), CLIP, "the blob on disk is the bytes sent");
  });

  test("addMediaItem with inline bytes in several frames; a repeated id is idempotent", T, async () => {
    const parts = [CLIP.subarray(0, 1000), CLIP.subarray(1000, 2000), CLIP.subarray(2000)];
    const res = await s.addMediaItem({ id: "inline-2", projectId: project, name: "frames.webm", type: MediaType.video }, parts);
    assert.equal(res.item.sha256, sha256(CLIP));
    const again = await s.addMediaItem({ id: "inline-2", projectId: project, name: "frames.webm", type: MediaType.video }, parts);
    assert.equal(again.created, false);
    assert.equal(again.item.id, "inline-2");
  });

  test("addMediaItem with only a URL registers a urlOnly item", T, async () => {
    const res = await s.addMediaItem({ id: "url-1", projectId: project, name: "remote.webm", type: MediaType.video, sourceUrl: "https://v3.fal.media/files/clip.webm" });
    assert.equal(res.item.status, ItemStatus.urlOnly);
    assert.equal(res.item.sourceUrl, "https://v3.fal.media/files/clip.webm");
    assert.equal(res.durable, false);
  });

  test("getMediaItem, and not_found for an unknown id", T, async () => {
    const got = await s.getMediaItem({ id: "inline-1", projectId: project });
    assert.equal(got.item.name, "inline.webm");
    const err = await rejection(s.getMediaItem({ id: "missing", projectId: project }));
    assert.equal(err.code, ErrorCode.not_found);
  });

  test("getMediaSource and readMediaRange: where the bytes are, and signed byte ranges of them", T, async () => {
    const source = await s.getMediaSource({ projectId: project, id: "inline-1" });
    assert.equal(source.bytes, ByteLocation.file);
    assert.equal(source.size, CLIP.length);
    assert.equal(source.sha256, sha256(CLIP));
    assert.deepEqual(readFileSync(source.path!), CLIP);
    const range = await s.readMediaRange({ projectId: project, id: "inline-1", offset: 10, length: 100 });
    assert.deepEqual(Buffer.from(range.bytes), CLIP.subarray(10, 110));
    assert.equal(range.size, CLIP.length);
    const tail = await s.readMediaRange({ projectId: project, id: "inline-1", offset: CLIP.length - 5, length: 100 });
    assert.equal(tail.length, 5);
    assert.deepEqual(Buffer.from(tail.bytes), CLIP.subarray(CLIP.length - 5));
    const beyond = await rejection(s.readMediaRange({ projectId: project, id: "inline-1", offset: CLIP.length, length: 1 }));
    assert.equal(beyond.code, ErrorCode.invalid_params);
    assert.equal(beyond.field, "params.offset");
    const remote = await s.getMediaSource({ projectId: project, id: "url-1" });
    assert.equal(remote.bytes, ByteLocation.none);
    const none = await rejection(s.readMediaRange({ projectId: project, id: "url-1", offset: 0, length: 1 }));
    assert.equal(none.code, ErrorCode.no_local_bytes);
    assert.equal((await rejection(s.getMediaSource({ projectId: "other", id: "inline-1" }))).code, ErrorCode.not_found);
  });

  test("invalid params come back as invalid_params naming the field", T, async () => {
    const err = await rejection(s.call("listMediaItems", { projectId: "bad/id" }));
    assert.equal(err.code, ErrorCode.invalid_params);
    assert.equal(err.field, "params.projectId");
    // The schema refuses what the server refused (and only that): the one expected violation.
    const caught = wire.take();
    assert.equal(caught.length, 1, caught.join("\n"));
    assert.match(caught[0] ?? "", /send listMediaItems params: \/projectId must match pattern/);
  });

  test("a storage failure keeps the item as unsaved (itemUnsaved); retrySaveItem saves it", T, async () => {
    await s.testFault({ op: FaultOp.blobWrite, errno: FaultErrno.EAGAIN, count: 1 });
    const unsavedEvent = nextEvent(s, "itemUnsaved", (d) => d.item.id === "fail-1");
    // New content: the same bytes as a saved item would share its blob and need no write.
    const res = await s.addMediaItem({ id: "fail-1", projectId: project, name: "fail.webm", type: MediaType.video }, Buffer.concat([CLIP, Buffer.from("fail-1")]));
    assert.equal(res.item.status, ItemStatus.unsaved);
    assert.equal(res.durable, false);
    assert.ok(res.item.storageError);
    assert.equal((await unsavedEvent).error.errorType, ErrorType.StorageTransient);
    const retried = await s.retrySaveItem({ id: "fail-1", projectId: project });
    assert.equal(retried.item.status, ItemStatus.saved);
    assert.equal(retried.durable, true);
  });

  test("retryAllUnsaved saves every unsaved item of the project (the 'Retry all' banner)", T, async () => {
    await s.testFault({ op: FaultOp.blobWrite, errno: FaultErrno.EAGAIN, count: 2 });
    for (const id of ["fail-2", "fail-3"]) {
      const res = await s.addMediaItem({ id, projectId: project, name: `${id}.webm`, type: MediaType.video }, Buffer.concat([CLIP, Buffer.from(id)]));
      assert.equal(res.item.status, ItemStatus.unsaved);
    }
    const before = await s.listMediaItems({ projectId: project, status: [ItemStatus.unsaved] });
    assert.equal(before.counts.unsaved, 2);
    const summary = await s.retryAllUnsaved({ projectId: project });
    assert.equal(summary.attempted, 2);
    assert.equal(summary.saved, 2);
    assert.equal((await s.listMediaItems({ projectId: project })).counts.unsaved, 0);
  });

  test("listMediaItems: one project's items, filters, pagination and counts", T, async () => {
    await s.addMediaItem({ id: "other-1", projectId: "proj-2", name: "other.png", type: MediaType.image }, Buffer.from("png"));
    const all = await s.listMediaItems({ projectId: project, limit: 2, sort: SortKey.name, order: SortOrder.asc });
    assert.equal(all.items.length, 2);
    assert.ok(all.nextCursor);
    assert.ok(all.items.every((i: MediaItem) => i.projectId === project));
    const rest = await s.listMediaItems({ projectId: project, limit: 100, sort: SortKey.name, order: SortOrder.asc, cursor: all.nextCursor ?? "" });
    const ids = [...all.items, ...rest.items].map((i) => i.id);
    assert.equal(new Set(ids).size, ids.length, "no item twice across pages");
    assert.ok(!ids.includes("other-1"), "never another project's item");
    assert.equal(all.counts.total, ids.length);
    const onlyUrl = await s.listMediaItems({ projectId: project, status: [ItemStatus.urlOnly] });
    assert.deepEqual(onlyUrl.items.map((i) => i.id), ["url-1"]);
  });

  test("storageStatus", T, async () => {
    const st = await s.storageStatus();
    assert.equal(st.writable, true);
    assert.equal(st.blocked, false);
    assert.ok(st.counts.total >= 5);
  });

  test("downloadUrlOnlyItem downloads from (local) fal.media and saves, with downloadProgress", T, async () => {
    const final = nextEvent(s, "downloadProgress", (d) => d.id === "url-1" && d.final);
    const res = await s.downloadUrlOnlyItem({ id: "url-1", projectId: project });
    assert.equal(res.item.status, ItemStatus.saved);
    assert.equal(res.item.sha256, sha256(CLIP));
    assert.equal((await final).outcome, DownloadOutcome.saved);
    assert.ok(server.requests.includes("v3.fal.media /files/clip.webm"));
  });

  test("an expired URL marks the item expired (url_expired, itemExpired)", T, async () => {
    await s.addMediaItem({ id: "gone-1", projectId: project, name: "gone.webm", type: MediaType.video, sourceUrl: "https://fal.media/files/gone.webm" });
    const expired = nextEvent(s, "itemExpired", (d) => d.item.id === "gone-1");
    const err = await rejection(s.downloadUrlOnlyItem({ id: "gone-1", projectId: project }));
    assert.equal(err.code, ErrorCode.url_expired);
    assert.equal((await expired).item.status, ItemStatus.expired);
  });

  test("downloadAllUrlOnly downloads every urlOnly item of a project", T, async () => {
    for (const id of ["url-2", "url-3"]) {
      await s.addMediaItem({ id, projectId: "proj-3", name: `${id}.webm`, type: MediaType.video, sourceUrl: `https://v3b.fal.media/files/clip.webm?${id}` });
    }
    const summary = await s.downloadAllUrlOnly({ projectId: "proj-3" });
    assert.equal(summary.attempted, 2);
    assert.equal(summary.saved, 2);
  });

  test("cancelDownload ends a running download: its call answers `cancelled`", T, async () => {
    await s.addMediaItem({ id: "slow-1", projectId: project, name: "slow.webm", type: MediaType.video, sourceUrl: "https://fal.media/files/slow.webm" });
    const requested = new Promise<void>((resolve) => (slowRequested = resolve));
    const download = s.downloadUrlOnlyItem({ id: "slow-1", projectId: project });
    await within(requested, 20_000, "the sidecar's request for slow.webm"); // the download is running
    const cancelled = await s.cancelDownload({ id: "slow-1", projectId: project });
    assert.equal(cancelled.cancelled, true);
    assert.equal((await rejection(download)).code, ErrorCode.cancelled);
    assert.equal((await s.getMediaItem({ id: "slow-1" })).item.status, ItemStatus.urlOnly);
  });

  test("a download call times out on inactivity, not in total: one that keeps moving outlives inactivityMs", T, async () => {
    await s.addMediaItem({ id: "trickle-1", projectId: project, name: "trickle.webm", type: MediaType.video, sourceUrl: "https://fal.media/files/trickle.webm" });
    const started = Date.now();
    const res = await s.downloadUrlOnlyItem({ id: "trickle-1", projectId: project }, { inactivityMs: 1_500 });
    assert.equal(res.item.status, ItemStatus.saved);
    assert.equal(res.item.sha256, sha256(TRICKLE));
    // Not a timing assertion: the point is that a total of 1.5 s would have cut this call.
    assert.ok(Date.now() - started > 1_500, "the download took longer than inactivityMs in all");
  });

  test("no progress for inactivityMs: the call answers timeout; the download goes on (listDownloads), cancel ends it", T, async () => {
    await s.addMediaItem({ id: "slow-2", projectId: project, name: "slow.webm", type: MediaType.video, sourceUrl: "https://fal.media/files/slow.webm?2" });
    const requested = new Promise<void>((resolve) => (slowRequested = resolve));
    const download = s.downloadUrlOnlyItem({ id: "slow-2", projectId: project }, { inactivityMs: 1_500 });
    await within(requested, 20_000, "the sidecar's request for slow.webm");
    const err = await rejection(download);
    assert.equal(err.code, "timeout");
    assert.match(err.message, /no progress/);
    const listed = await s.listDownloads({ projectId: project });
    const mine = listed.downloads.find((d) => d.id === "slow-2");
    assert.ok(mine, JSON.stringify(listed)); // still running in the sidecar
    assert.equal(mine.projectId, project);
    assert.equal(mine.resumedFromBytes, 0);
    const final = nextEvent(s, "downloadProgress", (d) => d.id === "slow-2" && d.final);
    assert.equal((await s.cancelDownload({ id: "slow-2", projectId: project })).cancelled, true);
    assert.equal((await final).outcome, DownloadOutcome.cancelled);
    assert.deepEqual((await s.listDownloads({ projectId: project })).downloads.filter((d) => d.id === "slow-2"), []);
  });

  test("held bytes that are gone: retrySaveItem answers conflict with typed data, itemLost carries the counts", T, async () => {
    await s.testFault({ op: FaultOp.blobWrite, errno: FaultErrno.EAGAIN, count: 1 });
    const bytes = Buffer.concat([CLIP, Buffer.from("lost-1")]);
    const res = await s.addMediaItem({ id: "lost-1", projectId: "proj-lost", name: "lost.webm", type: MediaType.video }, bytes);
    assert.equal(res.item.status, ItemStatus.unsaved);
    assert.equal(res.item.bytesState, BytesState.held);
    rmSync(join(dataDir, "spill", "held", sha256(bytes))); // the held copy is gone
    const lost = nextEvent(s, "itemLost", (d) => d.item.id === "lost-1");
    const err = await rejection(s.retrySaveItem({ id: "lost-1", projectId: "proj-lost" }));
    assert.equal(err.code, ErrorCode.conflict);
    assert.deepEqual(err.data, { itemId: "lost-1", status: ItemStatus.lost, bytesState: BytesState.gone });
    const event = await lost;
    assert.equal(event.item.status, ItemStatus.lost);
    assert.equal(event.counts?.lost, 1);
    assert.equal(event.counts?.unsaved, 0); // the "N unsaved [Retry all]" banner can clear
    const counts = (await s.listMediaItems({ projectId: "proj-lost" })).counts;
    assert.deepEqual([counts.unsaved, counts.lost], [0, 1]);
    // A real save tells that storage works again (the fault made it report failing).
    const writable = nextEvent(s, "storageStatusChanged", (d) => d.writable);
    await s.addMediaItem({ id: "lost-2", projectId: "proj-lost", name: "ok.webm", type: MediaType.video }, Buffer.from("lost-2"));
    await writable;
  });

  test("removeMediaItem deletes the item and its blob (itemRemoved)", T, async () => {
    const removed = nextEvent(s, "itemRemoved", (d) => d.id === "inline-1");
    const res = await s.removeMediaItem({ id: "inline-1", projectId: project });
    assert.equal(res.removed, true);
    assert.equal((await removed).projectId, project);
    assert.equal((await rejection(s.getMediaItem({ id: "inline-1" }))).code, ErrorCode.not_found);
  });

  test("events through the async iterator", T, async () => {
    const controller = new AbortController();
    const names: string[] = [];
    const reading = (async () => {
      for await (const ev of s.events({ signal: controller.signal })) {
        names.push(ev.name);
        if (ev.name === "itemSaved") controller.abort();
      }
    })();
    await s.addMediaItem({ id: "iter-1", projectId: project, name: "iter.webm", type: MediaType.video }, Buffer.from("iterator"));
    await within(reading, 10_000, "iterator");
    assert.deepEqual(names, ["itemAdded", "itemSaved"]);
  });

  test("the renderer bridge over the real sidecar: bytes in, result and events out", T, async () => {
    const ipcMain = new FakeIpcMain();
    const dispose = registerBridge(ipcMain, s);
    const page = new FakePage(ipcMain);
    const store = createMediaStore(page.ipcRenderer);
    try {
      const seen: SidecarEvent[] = [];
      const gotSaved = new Promise<void>((resolve) =>
        store.onEvent("itemSaved", (_d, ev) => {
          seen.push(ev);
          resolve();
        }),
      );
      await new Promise((r) => setImmediate(r)); // the subscription reaches main
      const out = await store.addMediaItem({ projectId: project, name: "from-renderer.webm", type: MediaType.video }, new Uint8Array(CLIP));
      assert.ok(out.ok, JSON.stringify(out));
      assert.equal(out.value.item.sha256, sha256(CLIP));
      await within(gotSaved, 10_000, "itemSaved in the renderer");
      assert.equal((seen[0]?.data as { item?: MediaItem } | undefined)?.item?.id, out.value.item.id);
      const bad = await store.getMediaItem({ id: "nope" });
      assert.deepEqual(bad.ok ? null : bad.error.code, ErrorCode.not_found);
    } finally {
      dispose();
    }
  });

  test("the renderer: per-call inactivityMs (bounded), typed error codes with data, no duplicate on retry", T, async () => {
    const ipcMain = new FakeIpcMain();
    const dispose = registerBridge(ipcMain, s);
    const store = createMediaStore(new FakePage(ipcMain).ipcRenderer);
    try {
      await s.addMediaItem({ id: "slow-3", projectId: project, name: "slow.webm", type: MediaType.video, sourceUrl: "https://fal.media/files/slow.webm?3" });
      const tooShort = await store.downloadUrlOnlyItem({ id: "slow-3", projectId: project }, { inactivityMs: 10 });
      assert.deepEqual(tooShort.ok ? null : [tooShort.error.code, tooShort.error.field], ["invalid_params", "options.inactivityMs"]);
      const stalled = await store.downloadUrlOnlyItem({ id: "slow-3", projectId: project }, { inactivityMs: 1_500 });
      assert.deepEqual(stalled.ok ? null : stalled.error.code, "timeout");
      const cancelled = await store.cancelDownload({ id: "slow-3", projectId: project });
      assert.ok(cancelled.ok && cancelled.value.cancelled);

      // The sidecar chose the id; the error says it, so the retry reuses it (no duplicate).
      const add = { projectId: "proj-dup", name: "gone.webm", type: MediaType.video, sourceUrl: "https://fal.media/files/gone.webm", download: true };
      const first = await store.addMediaItem(add);
      assert.ok(!first.ok);
      const code: "url_expired" | string = first.error.code; // typed: the protocol's codes + local ones
      assert.equal(code, "url_expired");
      const itemId = first.error.data?.["itemId"];
      assert.equal(typeof itemId, "string");
      assert.equal(first.error.data?.["status"], ItemStatus.expired);
      assert.equal(first.error.data?.["created"], true);
      const again = await store.addMediaItem({ ...add, id: itemId as string });
      assert.ok(again.ok, JSON.stringify(again)); // already expired: answered as it is
      assert.equal(again.value.created, false);
      const listed = await store.listMediaItems({ projectId: "proj-dup" });
      assert.ok(listed.ok);
      assert.equal(listed.value.counts.total, 1);
    } finally {
      dispose();
    }
  });

  test("unsubscribe stops events; subscribe brings them back", T, async () => {
    assert.equal((await s.unsubscribe()).unsubscribed, true);
    let count = 0;
    const counter = (): void => void count++;
    s.on("event", counter);
    await s.addMediaItem({ id: "quiet-1", projectId: project, name: "quiet.webm", type: MediaType.video }, Buffer.from("quiet"));
    await s.ping(); // replies come in order after the add's events would have
    assert.equal(count, 0);
    await s.subscribe({});
    const added = nextEvent(s, "itemAdded", (d) => d.item.id === "loud-1");
    await s.addMediaItem({ id: "loud-1", projectId: project, name: "loud.webm", type: MediaType.video }, Buffer.from("loud"));
    await added;
    s.off("event", counter);
  });

  test("blocked storage (ENOSPC) keeps an item with a URL as urlOnly (itemUrlOnly); the next save unblocks it", T, async () => {
    await s.testFault({ op: FaultOp.blobWrite, errno: FaultErrno.ENOSPC, count: 100 });
    try {
      const urlOnly = nextEvent(s, "itemUrlOnly", (d) => d.item.id === "blocked-1");
      const blocked = nextEvent(s, "storageStatusChanged", (d) => d.blocked);
      const bytes = Buffer.concat([CLIP, Buffer.from("blocked-1")]);
      const res = await s.addMediaItem({ id: "blocked-1", projectId: "proj-4", name: "blocked.webm", type: MediaType.video, sourceUrl: "https://v3.fal.media/files/clip.webm" }, bytes);
      assert.equal(res.item.status, ItemStatus.urlOnly);
      assert.equal(res.durable, false);
      assert.equal(res.item.storageError?.errorType, ErrorType.StorageBlocked);
      assert.equal((await urlOnly).error?.errno, "ENOSPC");
      assert.equal((await blocked).writable, false);
    } finally {
      await s.testFault({ op: FaultOp.clear });
    }
    const writable = nextEvent(s, "storageStatusChanged", (d) => d.writable);
    await s.addMediaItem({ id: "unblocked-1", projectId: "proj-4", name: "ok.webm", type: MediaType.video }, Buffer.from("unblocked"));
    assert.equal((await writable).blocked, false);
    assert.equal((await s.storageStatus()).writable, true);
  });

  test("the sidecar logs reach the logger", T, () => {
    assert.ok(logs.some((l) => l.includes("serving")), logs.slice(0, 5).join("\n"));
  });
});

describe("supervision of the real sidecar", () => {
  test("SIGKILL: pending calls are rejected, the sidecar restarts, calls work again and data survived", T, async () => {
    const { supervisor: s } = sidecarSupervisor();
    try {
      const first = await s.start();
      const secretOf = (file: string) => (JSON.parse(readFileSync(file, "utf8")) as { secret: string }).secret;
      const firstSecret = secretOf(first.connectionFile);
      await s.addMediaItem({ id: "keep-1", projectId: "p", name: "keep.webm", type: MediaType.video }, CLIP);
      // Freeze it so the calls are surely in flight, then kill it.
      process.kill(first.pid, "SIGSTOP");
      const pending = [s.ping(), s.listMediaItems({ projectId: "p" }), s.storageStatus()];
      const crash = nextEmit<[CrashInfo]>(s, "crash");
      const ready = nextEmit<[{ pid: number; connectionFile: string }]>(s, "ready");
      process.kill(first.pid, "SIGKILL");
      for (const p of pending) {
        const err = await rejection(p);
        assert.equal(err.code, "sidecar_exited");
        assert.match(err.message, /SIGKILL/);
      }
      const [info] = await crash;
      assert.equal(info.signal, "SIGKILL");
      assert.equal(info.willRestart, true);
      const [again] = await ready;
      assert.notEqual(again.pid, first.pid);
      assert.notEqual(secretOf(again.connectionFile), firstSecret, "a new secret for every start");
      assert.equal(s.state, "ready");
      const listed = await s.listMediaItems({ projectId: "p" });
      assert.deepEqual(listed.items.map((i) => i.id), ["keep-1"], "the saved item survived the crash");
    } finally {
      await s.stop();
    }
  });

  test("calls made while it restarts wait for it instead of failing", T, async () => {
    const { supervisor: s } = sidecarSupervisor({ restart: { initialDelayMs: 300 } });
    try {
      const { pid } = await s.start();
      const crash = nextEmit(s, "crash");
      process.kill(pid, "SIGKILL");
      await crash;
      assert.equal(s.state, "restarting");
      const pong = await s.ping({ timeoutMs: 30_000 });
      assert.equal(pong.pong, true);
    } finally {
      await s.stop();
    }
  });

  test("five crashes within the window: `dead`, and calls reject with sidecar_dead", T, async () => {
    const { supervisor: s } = sidecarSupervisor();
    try {
      let { pid } = await s.start();
      const dead = nextEmit<[SidecarError]>(s, "dead", () => true, 60_000);
      for (let crash = 1; crash <= 5; crash++) {
        const next = crash < 5 ? nextEmit<[{ pid: number }]>(s, "ready") : null;
        process.kill(pid, "SIGKILL");
        if (next) pid = (await next)[0].pid;
      }
      const [err] = await dead;
      assert.equal(err.code, "sidecar_dead");
      assert.equal(s.state, "dead");
      assert.equal((await rejection(s.ping())).code, "sidecar_dead");
      assert.equal(s.pid, null);
      // The renderer restarts the dead library through the bridge (allowed only when dead).
      const ipcMain = new FakeIpcMain();
      const dispose = registerBridge(ipcMain, s);
      try {
        const store = createMediaStore(new FakePage(ipcMain).ipcRenderer);
        const restarted = await within(store.restart(), 30_000, "restart from the renderer");
        assert.ok(restarted.ok, JSON.stringify(restarted));
        assert.equal(restarted.value.state, "ready");
        const pong = await store.ping();
        assert.ok(pong.ok && pong.value.pong);
        const again = await store.restart();
        assert.deepEqual(again.ok ? null : again.error.code, "not_dead");
      } finally {
        dispose();
      }
    } finally {
      await s.stop();
    }
  });

  test("stop: the shutdown request ends it (exit 0, no signal needed)", T, async () => {
    const { supervisor: s } = sidecarSupervisor();
    const { pid } = await s.start();
    const result = await s.stop();
    assert.deepEqual(result, { exit: { code: 0, signal: null }, escalation: "shutdown" });
    assert.equal(isAlive(pid), false);
    assert.equal(s.state, "stopped");
    assert.equal((await rejection(s.ping())).code, "not_running");
  });

  test("stop escalates to SIGTERM then SIGKILL when the sidecar does not answer", T, async () => {
    const { supervisor: s } = sidecarSupervisor({ stop: { drainTimeoutMs: 100, shutdownWaitMs: 300, termWaitMs: 300 } });
    const { pid } = await s.start();
    process.kill(pid, "SIGSTOP"); // answers nothing, handles no SIGTERM
    const pending = s.ping();
    const result = await s.stop();
    assert.equal(result.escalation, "SIGKILL");
    assert.equal(result.exit?.signal, "SIGKILL");
    assert.equal((await rejection(pending)).code, "sidecar_exited");
  });

  test("a hung sidecar (no answer to ping) is killed by the heartbeat and restarted", T, async () => {
    const { supervisor: s } = sidecarSupervisor({ heartbeat: { intervalMs: 100, timeoutMs: 300, misses: 2 } });
    try {
      const first = await s.start();
      const crash = nextEmit<[CrashInfo]>(s, "crash");
      const ready = nextEmit<[{ pid: number }]>(s, "ready");
      process.kill(first.pid, "SIGSTOP");
      const [info] = await crash;
      assert.match(info.reason, /stopped answering ping/);
      assert.equal(info.signal, "SIGKILL");
      assert.notEqual((await ready)[0].pid, first.pid);
    } finally {
      await s.stop();
    }
  });

  test("the secret can travel by environment instead of stdin, when asked", T, async () => {
    const { supervisor: s } = sidecarSupervisor({ secretVia: "env" });
    try {
      await s.start();
      assert.equal((await s.ping()).pong, true);
    } finally {
      await s.stop();
    }
  });

  test("a python that cannot start ends in `dead` after the policy's attempts; start() rejects", T, async () => {
    const { supervisor: s } = sidecarSupervisor({ python: "/nonexistent/python" });
    const crashes: CrashInfo[] = [];
    s.on("crash", (c) => crashes.push(c));
    const err = await rejection(s.start());
    assert.equal(err.code, "sidecar_dead");
    assert.equal(crashes.length, 5);
    assert.match(crashes[0]?.reason ?? "", /could not spawn/);
  });
});

describe("the wire", () => {
  test("every message exchanged above matched protocol/schema/, and every method and event was among them", (t) => {
    wire.assertClean();
    const index = schemaIndex();
    const c = wire.counts;
    t.diagnostic(wire.summary());
    t.diagnostic(`errors: ${JSON.stringify(c.errors)}; events: ${JSON.stringify(c.events)}`);
    assert.deepEqual(Object.keys(index.methods).filter((m) => !c.params[m]), [], "methods whose params were never checked");
    assert.deepEqual(Object.keys(index.methods).filter((m) => !c.results[m]), [], "methods whose result was never checked");
    assert.deepEqual(Object.keys(index.events).filter((e) => !c.events[e]), [], "events never checked");
    assert.ok(c.received.error > 0, "some error replies were checked");
  });
});
