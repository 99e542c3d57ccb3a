/**
 * The media handler: a fetch-style `(Request) => Promise<Response>` that serves the library's
 * items to `<video>` / `<img>` at `<scheme>://item/<projectId>/<itemId>`, with the ranges a
 * media element needs to start (an mp4 whose `moov` is at the end) and to seek.
 *
 * Usable without Electron (Node ≥ 20's global Request/Response): serveMedia (media-scheme.ts)
 * mounts it with `protocol.handle`; the tests mount it behind a local HTTPS server.
 *
 * Where bytes come from: `getMediaSource` (one call per request) says where the item's bytes
 * are. A file (the blob of a saved item, the spill copy of an unsaved one) is opened once per
 * request and streamed chunk by chunk from its fd, pulled by the consumer (backpressure,
 * memory bounded by one chunk ahead); the fd is closed on end, on error and on cancel (the
 * page aborts requests constantly while seeking). A file that vanished between the answer and
 * the open (the item was saved or removed meanwhile) makes the handler ask once more. Bytes
 * the sidecar holds only in memory are streamed through `readMediaRange`, one range in
 * flight per stream. The ETag is the content hash, so an item saved while it plays keeps
 * playing: its next range comes from the blob with the same validator.
 *
 * Nothing from the URL is used as a path: the ids are checked against the protocol's rule and
 * the path comes from the sidecar. Every response carries the CSP (webRequest does not see
 * custom protocols) and, when the page's origin is allowed, CORS headers so its fetch() can
 * read why an item does not play. Failures are short plain-text answers with
 * `X-Media-Sidecar-Error: <code>`:
 *
 * | situation | status | code |
 * |---|---|---|
 * | not GET/HEAD | 405 | `method_not_allowed` |
 * | not `<scheme>://item/<projectId>/<itemId>` with valid ids | 400 | `bad_url` |
 * | unknown item, or another project's | 404 | `not_found` |
 * | expired (its URL is gone) | 410 | `expired` |
 * | lost (held bytes gone before they were saved; only re-adding them brings it back) | 410 | `lost` |
 * | urlOnly, URL on an allowed (FAL) host | 307 → its `sourceUrl` | |
 * | no local bytes otherwise (urlOnly elsewhere, or a held copy gone meanwhile) | 404 | `no_local_bytes` |
 * | range beyond the end | 416 + `Content-Range: bytes *\/size` | `range_not_satisfiable` |
 * | sidecar not running / not answering within `callTimeoutMs` | 503 + `Retry-After` | `unavailable` |
 * | `maxStreams` bodies open and no slot within `queueTimeoutMs` | 503 + `Retry-After` | `busy` |
 */

import { type FileHandle, open } from "node:fs/promises";

import type { CallOptions, MediaRange } from "./api";
import { DEFAULT_POLICY, buildCsp, checkMediaScheme } from "./csp";
import { SidecarError } from "./errors";
import { type ByteRange, contentRange, ifRangeAllows, parseRange, strongEtag } from "./http-range";
import { type Logger, silentLogger } from "./logger";
import { DEFAULT_MEDIA_SCHEME, MEDIA_ID } from "./preload";
import { ByteLocation, ErrorCode, type GetMediaSourceParams, type GetMediaSourceResult, ItemStatus, type ReadMediaRangeParams } from "./protocol";

/** What the handler needs of the sidecar: a `Supervisor` or a `SidecarClient` is one. */
export interface MediaBytesSource {
  getMediaSource(params: GetMediaSourceParams, options?: CallOptions): Promise<GetMediaSourceResult>;
  readMediaRange(params: ReadMediaRangeParams, options?: CallOptions): Promise<MediaRange>;
  /** The server's hello (a Supervisor's `hello`): its `limits.maxRangeBytes` caps each range asked. */
  readonly hello?: { limits: { maxRangeBytes: number } } | null;
}

/** What readMediaRange serves at most when the source does not say (the protocol's default). */
const DEFAULT_MAX_RANGE_BYTES = 4 * 1024 * 1024;

export interface MediaHandlerOptions {
  /** The URL scheme served (default `media-sidecar`). */
  scheme?: string;
  /** The Content-Security-Policy header value put on every response (default: the shipped policy with `scheme`). */
  csp?: string;
  /**
   * Hosts a urlOnly item may be redirected to, as CSP host sources (default: the policy's FAL
   * hosts, `https://fal.media` and `https://*.fal.media`). Any other URL gets 404 `no_local_bytes`.
   */
  redirectHosts?: readonly string[];
  /** Page origins whose fetch() may read the responses (CORS), e.g. `["app://app"]`. Default: none. */
  allowOrigins?: readonly string[];
  /** Response bodies open at once (each holds an fd or a sidecar range stream). Default 32. */
  maxStreams?: number;
  /** How long a request waits for a free stream before a 503 `busy`. Default 2000 ms. */
  queueTimeoutMs?: number;
  /** Timeout of each sidecar call; beyond it the answer is 503 `unavailable`. Default 5000 ms. */
  callTimeoutMs?: number;
  /** Bytes read from a file per chunk. Default 512 KiB. */
  chunkBytes?: number;
  /** Bytes asked per readMediaRange (capped by the sidecar's maxRangeBytes, 4 MiB). Default 1 MiB. */
  rangeBytes?: number;
  logger?: Logger;
}

/** The handler, with a view of what it holds open (for tests and diagnostics). */
export interface MediaHandler {
  (request: Request): Promise<Response>;
  /** Response bodies currently open (files or range streams). */
  readonly openStreams: number;
}

type Info = GetMediaSourceResult;

const ERROR_HEADER = "X-Media-Sidecar-Error";
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  "timeout",
  "not_running",
  "sidecar_exited",
  "client_closed",
  "sidecar_dead",
  "start_failed",
  ErrorCode.not_ready,
  ErrorCode.busy,
  ErrorCode.shutting_down,
]);

/** A parsed media URL: the item it names. */
export interface MediaRef {
  projectId: string;
  id: string;
}

/** `<scheme>://item/<projectId>/<itemId>` → the ids, or null (anything else). */
export function parseMediaUrl(url: string, scheme: string = DEFAULT_MEDIA_SCHEME): MediaRef | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${scheme}:` || u.hostname !== "item" || u.port !== "" || u.username !== "" || u.password !== "") return null;
  const parts = u.pathname.split("/");
  if (parts.length !== 3 || parts[0] !== "") return null;
  const [, projectId = "", id = ""] = parts;
  // The ids' alphabet has no '%': an encoded byte is never a valid id, so no decoding.
  for (const part of [projectId, id]) if (!MEDIA_ID.test(part) || part === "." || part === "..") return null;
  return { projectId, id };
}

/** Does `url` (https) match one of the CSP host sources (`https://host`, `https://*.host`)? */
export function hostAllowed(url: string, hostSources: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== "https:" || u.username !== "" || u.password !== "") return false;
  const host = u.hostname.toLowerCase();
  for (const source of hostSources) {
    const m = /^https:\/\/(\*\.)?([a-z0-9.-]+)$/i.exec(source);
    if (!m) continue;
    const base = (m[2] ?? "").toLowerCase();
    if (m[1] ? host.endsWith(`.${base}`) : host === base) return true;
  }
  return false;
}

/** Build the handler over a sidecar (`Supervisor`, `SidecarClient`, or anything with the two methods). */
export function createMediaHandler(source: MediaBytesSource, options: MediaHandlerOptions = {}): MediaHandler {
  const scheme = options.scheme ?? DEFAULT_MEDIA_SCHEME;
  if (scheme !== "https" && scheme !== "http") checkMediaScheme(scheme); // http(s): only the tests' stand-in origin
  const csp = options.csp ?? buildCsp(DEFAULT_POLICY, { mediaScheme: scheme === "https" || scheme === "http" ? false : scheme });
  const redirectHosts = options.redirectHosts ?? DEFAULT_POLICY.falHosts;
  const allowOrigins = new Set(options.allowOrigins ?? []);
  const callTimeoutMs = positive(options.callTimeoutMs ?? 5_000, "callTimeoutMs");
  const chunkBytes = positive(options.chunkBytes ?? 512 * 1024, "chunkBytes");
  const rangeBytes = positive(options.rangeBytes ?? 1024 * 1024, "rangeBytes");
  const slots = new Slots(positive(options.maxStreams ?? 32, "maxStreams"), positive(options.queueTimeoutMs ?? 2_000, "queueTimeoutMs"));
  const log = options.logger ?? silentLogger;
  const call = { timeoutMs: callTimeoutMs };

  const baseHeaders = (request: Request): Headers => {
    const h = new Headers({ "Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" });
    if (allowOrigins.size > 0) {
      h.set("Vary", "Origin");
      const origin = request.headers.get("Origin");
      if (origin !== null && allowOrigins.has(origin)) {
        h.set("Access-Control-Allow-Origin", origin);
        h.set("Access-Control-Expose-Headers", `${ERROR_HEADER}, Content-Range, Content-Length, Accept-Ranges, ETag`);
      }
    }
    return h;
  };

  const fail = (request: Request, status: number, code: string, reason: string, extra: Record<string, string> = {}): Response => {
    const h = baseHeaders(request);
    h.set("Content-Type", "text/plain; charset=utf-8");
    h.set(ERROR_HEADER, code);
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    return new Response(request.method === "HEAD" ? null : `${reason}\n`, { status, headers: h });
  };

  /** 410: nothing local and nothing the page can fetch; the code tells which. */
  const gone = (request: Request, status: typeof ItemStatus.expired | typeof ItemStatus.lost): Response =>
    status === ItemStatus.expired
      ? fail(request, 410, "expired", "the item expired: its remote URL is gone")
      : fail(request, 410, "lost", "the item's bytes were lost before they were saved: add it again");

  const fromError = (request: Request, err: unknown): Response => {
    if (err instanceof SidecarError) {
      if (err.code === ErrorCode.not_found) return fail(request, 404, "not_found", "no such item in this project");
      if (err.code === ErrorCode.no_local_bytes) {
        const status = (err.data as { status?: unknown } | null)?.status;
        if (status === ItemStatus.expired || status === ItemStatus.lost) return gone(request, status);
        return fail(request, 404, "no_local_bytes", `the item has no local bytes (${String(status ?? "unknown")})`);
      }
      if (err.code === ErrorCode.invalid_params) return fail(request, 400, "bad_url", `the sidecar refused the ids: ${err.message}`);
      if (UNAVAILABLE_CODES.has(err.code)) {
        return fail(request, 503, "unavailable", `the media library is not available (${err.code})`, { "Retry-After": "1" });
      }
    }
    log.warn(`media handler: ${request.url}: ${String(err)}`);
    return fail(request, 502, "sidecar_error", "the media library could not answer");
  };

  /** The item's source and, for a file, its open fd (re-asking once if the file vanished). */
  const resolve = async (ref: MediaRef, wantFile: boolean): Promise<{ info: Info; file: FileHandle | null }> => {
    for (let attempt = 0; ; attempt++) {
      const info = await source.getMediaSource(ref, call);
      if (info.id !== ref.id || info.projectId !== ref.projectId) {
        throw new SidecarError("bad_reply", "getMediaSource answered for another item", { method: "getMediaSource" });
      }
      if (!wantFile || info.bytes !== ByteLocation.file || info.path === null) return { info, file: null };
      const file = await openExact(info.path, info.size);
      if (file) return { info, file };
      if (attempt >= 1) throw new SidecarError("bad_reply", "the item's file vanished twice", { method: "getMediaSource" });
    }
  };

  const handler = async (request: Request): Promise<Response> => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return fail(request, 405, "method_not_allowed", "only GET and HEAD", { Allow: "GET, HEAD" });
    }
    const ref = parseMediaUrl(request.url, scheme);
    if (!ref) return fail(request, 400, "bad_url", `not a media URL: ${scheme}://item/<projectId>/<itemId>`);
    const isGet = request.method === "GET";

    let resolved: { info: Info; file: FileHandle | null };
    try {
      resolved = await resolve(ref, isGet);
    } catch (err) {
      return fromError(request, err);
    }
    const { info } = resolved;
    let file = resolved.file;
    const closeFile = (): void => {
      if (file) void file.close().catch(() => undefined);
      file = null;
    };

    try {
      if (info.status === ItemStatus.expired || info.status === ItemStatus.lost) return gone(request, info.status);
      if (info.bytes === ByteLocation.none) {
        if (info.status === ItemStatus.urlOnly && info.sourceUrl !== null && hostAllowed(info.sourceUrl, redirectHosts)) {
          const h = baseHeaders(request);
          h.set("Location", info.sourceUrl);
          return new Response(null, { status: 307, headers: h });
        }
        return fail(request, 404, "no_local_bytes", `the item has no local bytes (${info.status})`);
      }
      const size = info.size;
      const etag = strongEtag(info.sha256);
      if (size === null || etag === null) return fail(request, 404, "no_local_bytes", "the item's size or hash is not known yet");

      const headers = baseHeaders(request);
      headers.set("Accept-Ranges", "bytes");
      headers.set("ETag", etag);
      headers.set("Content-Type", info.mimeType ?? "application/octet-stream");

      const rangeHeader = request.headers.get("Range");
      const decision = rangeHeader !== null && ifRangeAllows(request.headers.get("If-Range"), etag) ? parseRange(rangeHeader, size) : { kind: "full" as const };
      if (decision.kind === "unsatisfiable") {
        headers.set("Content-Range", `bytes */${size}`);
        headers.set("Content-Type", "text/plain; charset=utf-8");
        headers.set(ERROR_HEADER, "range_not_satisfiable");
        return new Response(isGet ? `the item has ${size} bytes\n` : null, { status: 416, headers });
      }
      const range: ByteRange = decision.kind === "partial" ? decision.range : { start: 0, end: size - 1 };
      const length = size === 0 ? 0 : range.end - range.start + 1;
      const status = decision.kind === "partial" ? 206 : 200;
      if (status === 206) headers.set("Content-Range", contentRange(range, size));
      headers.set("Content-Length", String(length));
      if (!isGet || length === 0) return new Response(null, { status, headers });

      const release = await slots.acquire(request.signal);
      if (!release) return fail(request, 503, "busy", "too many media streams are open; retry", { "Retry-After": "1" });
      const body =
        file !== null
          ? fileStream(file, range.start, length, chunkBytes, release)
          : rangeStream(source, ref, info.sha256 ?? "", range.start, length, Math.min(rangeBytes, source.hello?.limits.maxRangeBytes ?? DEFAULT_MAX_RANGE_BYTES), call, release);
      file = null; // the stream owns it now
      return new Response(body, { status, headers });
    } finally {
      closeFile();
    }
  };

  Object.defineProperty(handler, "openStreams", { get: () => slots.used });
  return handler as MediaHandler;
}

/** Open `path` for reading if it is a regular file of exactly `size` bytes; null if it vanished. */
async function openExact(path: string, size: number | null): Promise<FileHandle | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || (size !== null && st.size !== size)) {
      await fh.close();
      return null;
    }
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/**
 * `length` bytes from `start`, one `read(position, want)` per pull (`want` at most `step`).
 * `finish` (release the stream slot, close what was opened) runs exactly once: at the end,
 * on a read error, or when the consumer cancels (the page aborts constantly while seeking).
 */
function byteStream(
  start: number,
  length: number,
  step: number,
  read: (position: number, want: number) => Promise<Uint8Array>,
  release: () => void,
  strategy: QueuingStrategy<Uint8Array>,
): ReadableStream<Uint8Array> {
  let position = start;
  let remaining = length;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    release();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await read(position, Math.min(step, remaining));
          if (done) return; // cancelled while reading
          if (chunk.byteLength === 0) throw new Error(`the item ended ${remaining} bytes early`);
          position += chunk.byteLength;
          remaining -= chunk.byteLength;
          controller.enqueue(chunk);
          if (remaining === 0) {
            finish();
            controller.close();
          }
        } catch (err) {
          finish();
          controller.error(err);
        }
      },
      cancel() {
        finish();
      },
    },
    strategy,
  );
}

/**
 * From `file`: at most two chunks are queued ahead of the consumer (the next read overlaps
 * the consumer's work on the last); the fd is closed when the stream finishes.
 */
function fileStream(file: FileHandle, start: number, length: number, chunkBytes: number, release: () => void): ReadableStream<Uint8Array> {
  const read = async (position: number, want: number): Promise<Uint8Array> => {
    const buffer = Buffer.allocUnsafe(want);
    const { bytesRead } = await file.read(buffer, 0, want, position);
    return bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
  };
  const finish = (): void => {
    release();
    void file.close().catch(() => undefined);
  };
  return byteStream(start, length, chunkBytes, read, finish, { highWaterMark: 2 * chunkBytes, size: (chunk) => chunk.byteLength });
}

/** From the sidecar's memory: one readMediaRange in flight, each checked against the ETag. */
function rangeStream(
  source: MediaBytesSource,
  ref: MediaRef,
  sha256: string,
  start: number,
  length: number,
  rangeBytes: number,
  call: CallOptions,
  release: () => void,
): ReadableStream<Uint8Array> {
  const read = async (offset: number, want: number): Promise<Uint8Array> => {
    const r = await source.readMediaRange({ ...ref, offset, length: want }, call);
    if (r.sha256 !== sha256) throw new Error("the item's bytes changed while it was streamed");
    return r.bytes;
  };
  return byteStream(start, length, rangeBytes, read, release, { highWaterMark: 0 });
}

/** At most `max` open bodies; others wait up to `waitMs` for one (then the caller answers 503). */
class Slots {
  used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly waitMs: number,
  ) {}

  /** A release function, or null when no slot came within the wait (or the request was aborted). */
  async acquire(signal?: AbortSignal): Promise<(() => void) | null> {
    if (this.used >= this.max) {
      const got = await new Promise<boolean>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(true);
        };
        const drop = (): void => {
          const i = this.waiting.indexOf(wake);
          if (i >= 0) this.waiting.splice(i, 1);
          signal?.removeEventListener("abort", onAbort);
          resolve(false);
        };
        const onAbort = (): void => {
          clearTimeout(timer);
          drop();
        };
        const timer = setTimeout(drop, this.waitMs);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(wake);
      });
      if (!got) return null;
      // the releaser handed its slot over: `used` was not decremented
    } else {
      this.used++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    };
  }
}

function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`${what} must be a positive number`);
  return n;
}
