/**
 * HTTP byte ranges (RFC 9110 §14) for the media handler: which part of an item of `size`
 * bytes a request asks for. Pure: no I/O, no Request object.
 *
 * - `bytes=a-b`, `bytes=a-`, `bytes=-n` → one range, clamped to the item;
 * - a syntactically bad header, another unit, or several ranges → the whole item (a server
 *   may ignore Range; media elements never ask for several ranges, and a multipart/byteranges
 *   answer would cost every client a parser for nothing);
 * - a well-formed range that selects nothing (`a` ≥ size, `-0`, any range of an empty item)
 *   → unsatisfiable (416 with `Content-Range: bytes *\/size`).
 * - `If-Range`: the range applies only when it names our strong ETag exactly; a weak ETag, a
 *   date or another tag means "send the whole item" (our validator is the content hash, so a
 *   date can never prove the bytes unchanged).
 */

/** An inclusive byte range, as in `Content-Range: bytes start-end/size`. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeDecision =
  | { kind: "full" }
  | { kind: "partial"; range: ByteRange }
  | { kind: "unsatisfiable" };

const SPEC = /^bytes[ \t]*=[ \t]*(.*)$/i;
const ONE = /^[ \t]*(\d{0,16})[ \t]*-[ \t]*(\d{0,16})[ \t]*$/;

/** What `Range` asks of an item of `size` bytes (null/undefined header → full). */
export function parseRange(header: string | null | undefined, size: number): RangeDecision {
  if (header === null || header === undefined) return { kind: "full" };
  const spec = SPEC.exec(header.trim());
  if (!spec) return { kind: "full" };
  const parts = (spec[1] ?? "").split(",");
  if (parts.length !== 1) return { kind: "full" };
  const m = ONE.exec(parts[0] ?? "");
  if (!m) return { kind: "full" };
  const first = m[1] ?? "";
  const last = m[2] ?? "";
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // suffix: the last n bytes
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - n), end: size - 1 } };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return { kind: "full" }; // invalid: ignored
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: "partial", range: { start, end } };
}

/** Does `If-Range` allow the range? (absent → yes; only our exact strong ETag → yes). */
export function ifRangeAllows(header: string | null | undefined, etag: string | null): boolean {
  if (header === null || header === undefined) return true;
  if (etag === null) return false;
  return header.trim() === etag;
}

/** `"<sha256>"`: a strong validator (the content hash of exactly these bytes). */
export function strongEtag(sha256: string | null): string | null {
  return sha256 && /^[0-9a-f]{64}$/.test(sha256) ? `"${sha256}"` : null;
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
