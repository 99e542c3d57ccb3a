/**
 * The codec: the only module that knows msgpack. Envelope objects ⇄ bytes, and the shape
 * check of what the server sends (docs/PROTOCOL.md "Messages", protocol/envelope.py).
 */

import { decode as unpack, encode as pack } from "@msgpack/msgpack";

import type { ErrorReply, EventMessage, Reply, Request } from "./generated/protocol";
import type { ErrorBody } from "./protocol";

/** What the client sends: params always present (the schema lets a server default them). */
export type RequestEnvelope = Request & { params: Record<string, unknown> };
export type ReplyEnvelope = Reply;
export type ErrorEnvelope = ErrorReply;
export type EventEnvelope = EventMessage;
export type ServerEnvelope = ReplyEnvelope | ErrorEnvelope | EventEnvelope;

export class DecodeError extends Error {
  override name = "DecodeError";
}

export function encodeEnvelope(envelope: RequestEnvelope): Uint8Array {
  // ignoreUndefined: an optional param left undefined must be absent, not nil (the server's
  // params are strict: `download: null` is refused where `download` absent is fine).
  return pack(envelope, { ignoreUndefined: true });
}

/** Decode and shape-check one envelope from the server; throws DecodeError. */
export function decodeServerEnvelope(frame: Uint8Array, maxBytes: number): ServerEnvelope {
  return checkServerEnvelope(unpackEnvelope(frame, maxBytes));
}

/** The msgpack of one envelope frame, decoded as it is (no shape check); throws DecodeError. */
export function unpackEnvelope(frame: Uint8Array, maxBytes: number): unknown {
  if (frame.byteLength > maxBytes) {
    throw new DecodeError(`envelope of ${frame.byteLength} bytes exceeds ${maxBytes}`);
  }
  try {
    return unpack(frame);
  } catch (err) {
    throw new DecodeError(`malformed msgpack: ${String(err)}`);
  }
}

/** Shape-check a decoded envelope from the server; throws DecodeError. */
export function checkServerEnvelope(obj: unknown): ServerEnvelope {
  if (!isMap(obj)) throw new DecodeError("envelope is not a map");
  const ts = obj["ts"];
  if (!isInt(ts)) throw new DecodeError("envelope.ts is not an integer");
  switch (obj["type"]) {
    case "reply": {
      const { id, result } = obj;
      if (typeof id !== "string") throw new DecodeError("reply.id is not a string");
      if (!isMap(result)) throw new DecodeError("reply.result is not a map");
      return { type: "reply", id, result, ts };
    }
    case "error": {
      const { id, error } = obj;
      if (id !== null && typeof id !== "string") throw new DecodeError("error.id is not a string");
      if (!isMap(error) || typeof error["code"] !== "string" || typeof error["message"] !== "string") {
        throw new DecodeError("error.error is not {code, message}");
      }
      const field = error["field"];
      const data = error["data"];
      return {
        type: "error",
        id,
        error: {
          code: error["code"] as ErrorBody["code"],
          message: error["message"],
          field: typeof field === "string" ? field : null,
          data: isMap(data) ? data : null,
        },
        ts,
      };
    }
    case "event": {
      const { event, seq, data } = obj;
      if (typeof event !== "string") throw new DecodeError("event.event is not a string");
      if (!isInt(seq) || seq < 1) throw new DecodeError("event.seq is not a positive integer");
      if (!isMap(data)) throw new DecodeError("event.data is not a map");
      return { type: "event", event, seq, data, ts };
    }
    default:
      throw new DecodeError(`unknown envelope type ${JSON.stringify(obj["type"])}`);
  }
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}
