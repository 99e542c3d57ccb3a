/**
 * The one error class callers see: `SidecarError` with a `code`, a `message` and the offending
 * `field`. Server errors keep the protocol's code (protocol/errors.py); failures that happen on
 * this side of the wire get one of the local codes below.
 */

import type { ErrorBody, ErrorCode } from "./protocol";

/** Codes of failures that never reached, or never came back from, the server. */
export const LOCAL_ERROR_CODES = [
  /** No reply within the request's timeout. */
  "timeout",
  /** The sidecar process exited (crashed, was killed, or stopped) while the call was pending. */
  "sidecar_exited",
  /** The client was closed while the call was pending, or before it was sent. */
  "client_closed",
  /** The sidecar is not running (supervisor not started, or stopped). */
  "not_running",
  /** The supervisor gave up after too many crashes. */
  "sidecar_dead",
  /** Spawning the sidecar, reading its ready line or its hello failed. */
  "start_failed",
  /** `restart()` from the renderer while the library is not `dead` (nothing to restart). */
  "not_dead",
  /** A signed reply whose content contradicts the request (e.g. readMediaRange bytes ≠ length). */
  "bad_reply",
] as const;
export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number];

export class SidecarError extends Error {
  override name = "SidecarError";
  readonly code: ErrorCode | LocalErrorCode;
  /** The offending field, dotted (`params.projectId`), when the server named one. */
  readonly field: string | null;
  readonly data: Record<string, unknown> | null;
  /** The method of the call that failed, when there was one. */
  readonly method: string | null;

  constructor(
    code: ErrorCode | LocalErrorCode,
    message: string,
    opts: { field?: string | null; data?: Record<string, unknown> | null; method?: string | null; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.field = opts.field ?? null;
    this.data = opts.data ?? null;
    this.method = opts.method ?? null;
  }

  static fromBody(body: ErrorBody, method: string | null): SidecarError {
    return new SidecarError(body.code, body.message, { field: body.field ?? null, data: body.data ?? null, method });
  }

  /** A plain object that survives structured clone / contextBridge (which drop Error fields). */
  toJSON(): { code: ErrorCode | LocalErrorCode; message: string; field: string | null; data: Record<string, unknown> | null } {
    return { code: this.code, message: this.message, field: this.field, data: this.data };
  }
}

/**
 * The one wrapping of a failure as a `SidecarError`, for every place that passes an error on:
 * a `SidecarError` keeps its code, message, `field` and `data` (and cause), and is tagged with
 * `method` when given one (the call it failed); anything else becomes `fallback` with the
 * thrown value as its cause.
 */
export function toSidecarError(err: unknown, fallback: ErrorCode | LocalErrorCode, method: string | null = null): SidecarError {
  if (!(err instanceof SidecarError)) return new SidecarError(fallback, String(err), { method, cause: err });
  if (method === null || err.method === method) return err;
  return new SidecarError(err.code, err.message, { field: err.field, data: err.data, method, cause: err.cause });
}
