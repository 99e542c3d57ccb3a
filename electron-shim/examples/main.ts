// The app's main process (type-checked by `npm test`, and against the packed package).
import { join } from "node:path";

import { BrowserWindow, app, ipcMain, protocol, session } from "electron";

import { Supervisor, attachToApp, installCsp, registerBridge, registerMediaScheme, serveMedia } from "@media-sidecar/electron-shim";

// Before ready: media-sidecar:// becomes a privileged scheme (standard, secure, fetch, CORS,
// stream; never bypassCSP). Electron takes one such call: list the app's own schemes in `others`.
registerMediaScheme(protocol, { others: [{ scheme: "app", privileges: { standard: true, secure: true } }] });

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
attachToApp(app, sidecar); // shutdown → SIGTERM → SIGKILL, then app.exit()
sidecar.on("dead", (err) => console.error("media library unavailable:", err.message));

let win: BrowserWindow | null = null;
app.on("second-instance", () => {
  if (win?.isMinimized()) win.restore();
  win?.focus();
});

void app.whenReady().then(async () => {
  // media-src/img-src/connect-src list media-sidecar: (from the policy data); the dev server
  // needs the dev preset for Vite's inline React preamble.
  const dev = !app.isPackaged;
  installCsp(session.defaultSession, { urls: ["app://*", "http://localhost:5173/*"], ...(dev ? { preset: "dev" } : {}) });
  // <video src="media-sidecar://item/<projectId>/<itemId>">: ranges, seeking, every status.
  serveMedia(protocol, sidecar, { allowOrigins: ["app://app", "http://localhost:5173"] });
  // The window first: if the library cannot start, the page still opens and its
  // window.mediaStore.onState sees "starting", then "dead" (calls answer `sidecar_dead`).
  win = new BrowserWindow({ webPreferences: { preload: join(__dirname, "preload.js") } });
  sidecar.start().catch((err: unknown) => console.error("media library did not start:", err));
  // app://app/ is the app's own protocol.handle("app", ...) (its responses wrapped in withCsp).
  await (dev ? win.loadURL("http://localhost:5173") : win.loadURL("app://app/index.html"));
});
