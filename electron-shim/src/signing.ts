/**
 * HMAC-SHA256 signing of a multipart message `[signature, envelope, ...payloads]`, exactly as
 * docs/PROTOCOL.md "Authentication" and sidecar/wire/signing.py define it:
 *
 *     signature = HMAC-SHA256(key,
 *         "media-sidecar/1\0" || u32be(len(envelope)) || envelope
 *         || u32be(n) || u64be(len(p1)) .. u64be(len(pn))
 *         || SHA256(p1 || ... || pn))            // SHA256("") when n = 0
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_SIZE = 32;
export const SIGNATURE_DOMAIN = Buffer.from("media-sidecar/1\0", "latin1");

/** What a frame may be: anything node:crypto and zeromq take as bytes. */
export type Bytes = Uint8Array;

/** SHA-256 of the payloads concatenated in order (the store's content hash). */
export function payloadDigest(payloads: readonly Bytes[]): Buffer {
  const h = createHash("sha256");
  for (const p of payloads) h.update(p);
  return h.digest();
}

export function sign(
  key: Bytes,
  envelope: Bytes,
  payloads: readonly Bytes[] = [],
  digest: Bytes = payloadDigest(payloads),
): Buffer {
  const mac = createHmac("sha256", key);
  mac.update(SIGNATURE_DOMAIN);
  mac.update(u32be(envelope.byteLength));
  mac.update(envelope);
  mac.update(u32be(payloads.length));
  for (const p of payloads) mac.update(u64be(p.byteLength));
  mac.update(digest);
  return mac.digest();
}

/** Constant-time check of a received signature. */
export function verify(
  key: Bytes,
  signature: Bytes,
  envelope: Bytes,
  payloads: readonly Bytes[] = [],
  digest?: Bytes,
): boolean {
  if (signature.byteLength !== SIGNATURE_SIZE) return false;
  const expected = sign(key, envelope, payloads, digest ?? payloadDigest(payloads));
  return timingSafeEqual(expected, signature);
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function u64be(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n), 0);
  return b;
}
