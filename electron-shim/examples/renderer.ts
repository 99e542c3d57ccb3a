// What the page does with window.mediaStore: the seeds' toast, badge and "Retry all" banner,
// and playback of every item whatever its status.
import type {} from "@media-sidecar/electron-shim/preload"; // the type of window.mediaStore

export async function showLibrary(projectId: string, render: (text: string) => void): Promise<() => void> {
  const store = window.mediaStore;
  const offUnsaved = store.onEvent("itemUnsaved", (data) => render(`Not saved: ${data.item.name} (${data.error.message}) [Retry]`));
  const offSaved = store.onEvent("itemSaved", (data) => render(`Saved ${data.item.name}`));
  const offState = store.onState((state) => {
    if (state === "starting") render("Opening the media library…");
    if (state === "dead") render("The media library is unavailable; your project still opens, but media cannot be saved");
  });

  const listed = await store.listMediaItems({ projectId, limit: 50 });
  if (!listed.ok) {
    render(`Could not list: ${listed.error.code}`); // e.g. sidecar_dead
  } else if (listed.value.counts.unsaved > 0) {
    render(`You have ${listed.value.counts.unsaved} unsaved items [Retry all]`);
    const retried = await store.retryAllUnsaved({ projectId });
    if (retried.ok) render(`${retried.value.saved} saved, ${retried.value.unsaved} still unsaved`);
  }
  return () => {
    offUnsaved();
    offSaved();
    offState();
  };
}

/**
 * A <video> for an item: saved and unsaved items play from media-sidecar:// (seekable),
 * urlOnly ones from their FAL URL, expired ones not at all. When a video fails, ask its URL
 * why: a 410 / 404 from the handler carries a reason; a 200 means the bytes did not decode.
 */
export function videoFor(item: Parameters<Window["mediaStore"]["playbackUrl"]>[0], show: (text: string) => void): HTMLVideoElement | null {
  const src = window.mediaStore.playbackUrl(item);
  if (src === null) {
    show(`${item.id}: expired — the generated file is gone from FAL`);
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
