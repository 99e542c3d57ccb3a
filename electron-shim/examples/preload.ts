// The app's preload script (bundled with it). Without a bundler, point
// webPreferences.preload at PRELOAD_PATH from the package instead.
import { exposeMediaStore } from "@media-sidecar/electron-shim/preload";

exposeMediaStore();
