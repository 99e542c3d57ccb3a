// The integration in an app's main process (type-checked by `npm test`).
import { join } from "node:path";

import { BrowserWindow, app, ipcMain, protocol, session } from "electron";

import { Supervisor, attachToApp, installCsp, registerBridge, registerMediaScheme, serveMedia } from "@media-sidecar/electron-shim";

// Before ready: media-sidecar:// becomes a privileged scheme (standard, secure, fetch, CORS,
// stream; never bypassCSP). Electron takes one such call: list the app's own schemes in `others`.
registerMediaScheme(protocol, { others: [{ scheme: "app", privileges: { standard: true, secure: true } }] });

const sidecar = new Supervisor({
  python: join(process.resourcesPath, "sidecar", "bin", "python"), // the app's bundled venv
  dataDir: join(app.getPath("userData"), "media-library"),
  logger: console,
});
registerBridge(ipcMain, sidecar); // window.mediaStore's calls and events
attachToApp(app, sidecar); // shutdown → SIGTERM → SIGKILL before the app quits
sidecar.on("dead", (err) => console.error("media library unavailable:", err.message));

void app.whenReady().then(async () => {
  // media-src/img-src/connect-src list media-sidecar: (from the policy data); the dev server
  // needs the dev preset for Vite's inline React preamble.
  const dev = !app.isPackaged;
  installCsp(session.defaultSession, { urls: ["app://*", "http://localhost:5173/*"], ...(dev ? { preset: "dev" } : {}) });
  // <video src="media-sidecar://item/<projectId>/<itemId>">: ranges, seeking, every status.
  serveMedia(protocol, sidecar, { allowOrigins: ["app://app", "http://localhost:5173"] });
  await sidecar.start();
  const win = new BrowserWindow({ webPreferences: { preload: join(__dirname, "preload.js") } });
  // app://app/ is the app's own protocol.handle("app", ...) (its responses wrapped in withCsp).
  await (dev ? win.loadURL("http://localhost:5173") : win.loadURL("app://app/index.html"));
});
