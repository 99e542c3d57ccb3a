/**
 * Mounting the media handler (media-handler.ts) on Electron's `protocol`:
 *
 * - `registerMediaScheme(protocol)` before `app.ready`: the scheme becomes privileged —
 *   `standard` (a real origin, relative URLs), `secure` (a secure context may load it),
 *   `supportFetchAPI` + `corsEnabled` (the page's fetch() may read why an item failed),
 *   `stream` (media elements take the body as it streams instead of buffering it). Never
 *   `bypassCSP`: the page's CSP lists the scheme in media-src/img-src/connect-src instead.
 *   Electron accepts one registerSchemesAsPrivileged call per app: pass the app's own schemes
 *   (QCut's `app://`) in `others`, or put `mediaSchemePrivileges()` in your own call.
 * - `serveMedia(protocol, sidecar, options)` after ready: `protocol.handle(scheme, handler)`;
 *   returns the handler (and `dispose()`, which unhandles the scheme).
 *
 * Only the Electron `protocol` object is taken (never required here): the handler itself is
 * plain fetch-style code, tested without Electron.
 */

import type { CustomScheme, Protocol } from "electron";

import { checkMediaScheme } from "./csp";
import { type MediaBytesSource, type MediaHandler, type MediaHandlerOptions, createMediaHandler } from "./media-handler";
import { DEFAULT_MEDIA_SCHEME } from "./preload";

/** The privileges of the media scheme (never bypassCSP). */
export function mediaSchemePrivileges(scheme: string = DEFAULT_MEDIA_SCHEME): CustomScheme {
  checkMediaScheme(scheme);
  return {
    scheme,
    privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true, bypassCSP: false },
  };
}

/** Before app.ready: register the media scheme (plus the app's `others`) as privileged. */
export function registerMediaScheme(
  protocol: Pick<Protocol, "registerSchemesAsPrivileged">,
  options: { scheme?: string; others?: readonly CustomScheme[] } = {},
): void {
  const media = mediaSchemePrivileges(options.scheme);
  const others = options.others ?? [];
  if (others.some((s) => s.scheme === media.scheme)) throw new TypeError(`${media.scheme} is the media scheme; do not register it twice`);
  protocol.registerSchemesAsPrivileged([...others, media]);
}

/** After app.ready: serve the library at `<scheme>://item/<projectId>/<itemId>`. */
export function serveMedia(
  protocol: Pick<Protocol, "handle" | "unhandle">,
  sidecar: MediaBytesSource,
  options: MediaHandlerOptions = {},
): MediaHandler & { dispose(): void } {
  const scheme = options.scheme ?? DEFAULT_MEDIA_SCHEME;
  checkMediaScheme(scheme);
  const handler = createMediaHandler(sidecar, { ...options, scheme });
  protocol.handle(scheme, handler);
  let disposed = false;
  return Object.assign(handler, {
    dispose(): void {
      if (disposed) return;
      disposed = true;
      protocol.unhandle(scheme);
    },
  });
}
