// The integration in an app's main process (type-checked by `npm test`).
import { join } from "node:path";

import { BrowserWindow, app, ipcMain, session } from "electron";

import { Supervisor, attachToApp, installCsp, registerBridge } from "@media-sidecar/electron-shim";

const sidecar = new Supervisor({
  python: join(process.resourcesPath, "sidecar", "bin", "python"), // the app's bundled venv
  dataDir: join(app.getPath("userData"), "media-library"),
  logger: console,
});
registerBridge(ipcMain, sidecar); // window.mediaStore's calls and events
attachToApp(app, sidecar); // shutdown → SIGTERM → SIGKILL before the app quits
sidecar.on("dead", (err) => console.error("media library unavailable:", err.message));

void app.whenReady().then(async () => {
  installCsp(session.defaultSession, { urls: ["file:///*", "http://localhost:5173/*"] });
  await sidecar.start();
  const win = new BrowserWindow({ webPreferences: { preload: join(__dirname, "preload.js") } });
  await win.loadFile("index.html");
});
