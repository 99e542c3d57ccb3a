// The app's main process (type-checked by `npm test`, and against the packed package).
import { join } from "node:path";

import { BrowserWindow, app, ipcMain, session } from "electron";

import { Supervisor, attachToApp, installCsp, registerBridge } from "@media-sidecar/electron-shim";

// One instance: a second one would find the library's data dir locked by the first.
if (!app.requestSingleInstanceLock()) app.quit();

const exe = process.platform === "win32" ? ".exe" : "";
const sidecar = new Supervisor({
  ...(app.isPackaged
    ? { command: join(process.resourcesPath, "media-sidecar", `media-sidecar${exe}`) } // the frozen build (extraResources)
    : { python: process.env["MEDIA_SIDECAR_PYTHON"] ?? "python3", args: ["-m", "sidecar", "serve"] }), // development
  dataDir: join(app.getPath("userData"), "media-library"),
  logger: console,
});
registerBridge(ipcMain, sidecar); // window.mediaStore's calls, events and state
attachToApp(app, sidecar); // shutdown → SIGTERM → SIGKILL before the app quits
sidecar.on("dead", (err) => console.error("media library unavailable:", err.message));

let win: BrowserWindow | null = null;
app.on("second-instance", () => {
  if (win?.isMinimized()) win.restore();
  win?.focus();
});

void app.whenReady().then(async () => {
  installCsp(session.defaultSession, { urls: ["file:///*", "http://localhost:5173/*"] });
  // The window first: if the library cannot start, the page still opens and its
  // window.mediaStore.onState sees "starting", then "dead" (calls answer `sidecar_dead`).
  win = new BrowserWindow({ webPreferences: { preload: join(__dirname, "preload.js") } });
  sidecar.start().catch((err: unknown) => console.error("media library did not start:", err));
  await win.loadFile("index.html");
});
