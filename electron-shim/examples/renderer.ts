// What the page does with window.mediaStore: the seeds' toast, badge and "Retry all" banner,
// long downloads, and playback of every item whatever its status.
import type {} from "@media-sidecar/electron-shim/preload"; // the type of window.mediaStore

export async function showLibrary(projectId: string, render: (text: string) => void): Promise<() => void> {
  const store = window.mediaStore;
  const offUnsaved = store.onEvent("itemUnsaved", (data) => render(`Not saved: ${data.item.name} (${data.error.message}) [Retry]`));
  const offSaved = store.onEvent("itemSaved", (data) => render(`Saved ${data.item.name}`));
  const offLost = store.onEvent("itemLost", (data) => render(`${data.item.name} was lost: add it again`));
  // Every item event carries the project's counts after the change: the banner needs no re-list.
  const offCounts = store.onEvent("*", (data) => {
    if ("counts" in data && data.counts && data.counts.unsaved > 0) render(`You have ${data.counts.unsaved} unsaved items [Retry all]`);
  });
  const offState = store.onState((state) => {
    if (state === "starting") render("Opening the media library…");
    // [Restart] → store.restart() (allowed only when the state is "dead")
    if (state === "dead") render("The media library is unavailable; your project still opens, but media cannot be saved [Restart]");
  });

  const listed = await store.listMediaItems({ projectId, limit: 50 });
  if (!listed.ok) {
    render(`Could not list: ${listed.error.code}`); // e.g. sidecar_dead
  } else if (listed.value.counts.unsaved > 0) {
    // counts.unsaved counts only items a retry can save (lost ones are counts.lost).
    render(`You have ${listed.value.counts.unsaved} unsaved items [Retry all]`);
    const retried = await store.retryAllUnsaved({ projectId });
    if (retried.ok) render(`${retried.value.saved} saved, ${retried.value.unsaved} still unsaved`);
  }
  // After a reload: what is still downloading (progress keeps coming as downloadProgress).
  const running = await store.listDownloads({ projectId });
  if (running.ok && running.value.downloads.length > 0) render(`${running.value.downloads.length} downloads in progress`);
  return () => {
    offUnsaved();
    offSaved();
    offLost();
    offCounts();
    offState();
  };
}

/**
 * Add a generated video by its URL and download it: given up only when the download shows no
 * progress for 2 minutes (no total limit). An error after the item was registered names it
 * (`data.itemId`): retry with that id, and no duplicate is made.
 */
export async function addGenerated(projectId: string, falUrl: string, id?: string): Promise<string | null> {
  const res = await window.mediaStore.addMediaItem(
    { projectId, name: "gen.mp4", type: "video", sourceUrl: falUrl, download: true, ...(id ? { id } : {}) },
    undefined,
    { inactivityMs: 120_000 },
  );
  if (res.ok) return res.value.item.id;
  return typeof res.error.data?.["itemId"] === "string" ? res.error.data["itemId"] : null;
}

/**
 * A <video> for an item: saved and unsaved items play from media-sidecar:// (seekable),
 * urlOnly ones from their FAL URL, expired and lost ones not at all. When a video fails, ask
 * its URL why: a 410 / 404 from the handler carries a reason; a 200 means the bytes did not decode.
 */
export function videoFor(item: Parameters<Window["mediaStore"]["playbackUrl"]>[0], show: (text: string) => void): HTMLVideoElement | null {
  const src = window.mediaStore.playbackUrl(item);
  if (src === null) {
    show(item.status === "lost" ? `${item.id}: its bytes were lost — add it again` : `${item.id}: expired — the generated file is gone from FAL`);
    return null;
  }
  const video = document.createElement("video");
  video.controls = true;
  video.addEventListener("error", () => {
    void fetch(src, { method: "HEAD" }).then(
      (res) => show(res.ok ? `${item.id}: cannot be decoded (codec)` : `${item.id}: ${res.headers.get("X-Media-Sidecar-Error") ?? res.status}`),
      () => show(`${item.id}: blocked (CSP?) or unreachable`),
    );
  });
  video.src = src;
  return video;
}
