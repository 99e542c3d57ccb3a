// What the page does with window.mediaStore: the seeds' toast, badge and "Retry all" banner.
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
