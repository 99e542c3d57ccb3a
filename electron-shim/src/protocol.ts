/**
 * The TypeScript view of the wire protocol: params, results, events, error codes.
 *
 * Every type here comes from `generated/protocol.ts`, which `scripts/gen-types.mjs` generates
 * from the JSON Schema exported from the pydantic models in `protocol/` (`npm run gen:types`;
 * `test/generated-types.test.ts` fails on drift). This module only gives the shim's public
 * names to those types (names the API used before the types were generated, and shorter
 * names for parts of them) and adds the few helpers the client needs. Nothing about the
 * protocol's shapes or words is written by hand here: change the models, re-export the schema, then
 * regenerate.
 */

import * as G from "./generated/protocol";

export { ANY_METHOD_ERRORS, ERROR_CODES, EVENT_NAMES, METHOD_ERRORS, METHOD_NAMES, PROTOCOL_VERSION, TEST_ONLY_METHODS } from "./generated/protocol";
// The vocabulary (protocol/vocabulary.py, and the error codes): each a const object naming its
// words (`ItemStatus.urlOnly`) and the union type of the same name.
export {
  ByteLocation,
  BytesState,
  DownloadOutcome,
  ErrorCode,
  ErrorType,
  FaultErrno,
  FaultOp,
  ItemStatus,
  MediaType,
  RecordState,
  SortKey,
  SortOrder,
} from "./generated/protocol";
export type {
  AddMediaItemParams,
  AddMediaItemResult,
  CancelDownloadParams,
  CancelDownloadResult,
  ClientInfo,
  DownloadAllUrlOnlyParams,
  DownloadAllUrlOnlyResult,
  DownloadInfo,
  DownloadProgress,
  DownloadUrlOnlyItemParams,
  DownloadUrlOnlyItemResult,
  ErrorBody,
  Events,
  FaultParams,
  FaultResult,
  GetMediaItemParams,
  GetMediaItemResult,
  GetMediaSourceParams,
  GetMediaSourceResult,
  HelloParams,
  HelloResult,
  ItemAdded,
  ItemExpired,
  ItemLost,
  ItemRemoved,
  ItemSaved,
  ItemUnsaved,
  ItemUrlOnly,
  Limits,
  ListDownloadsParams,
  ListDownloadsResult,
  ListMediaItemsParams,
  ListMediaItemsResult,
  MediaItem,
  Methods,
  PingParams,
  PingResult,
  ReadMediaRangeParams,
  ReadMediaRangeResult,
  RemoveMediaItemParams,
  RemoveMediaItemResult,
  RetryAllUnsavedParams,
  RetryAllUnsavedResult,
  RetrySaveItemParams,
  RetrySaveItemResult,
  ServerInfo,
  ShutdownParams,
  ShutdownResult,
  StatusCounts,
  StorageErrorInfo,
  StorageStatusChanged,
  StorageStatusParams,
  StorageStatusResult,
  SubscribeParams,
  SubscribeResult,
  UnsubscribeParams,
  UnsubscribeResult,
} from "./generated/protocol";

// ---------------------------------------------------------------- names for parts of the types

/** The older name of `ErrorType` (why an item is not durable). */
export type StorageErrorType = G.ErrorType;
/** What retryAllUnsaved and downloadAllUrlOnly answer (the same shape; a test checks it). */
export type BatchSummary = G.RetryAllUnsavedResult;
/** The params of the methods that name one item (get, remove, retry, download, cancel). */
export type ItemRef = G.GetMediaItemParams;
/** The data of the events that carry only an item. */
export type ItemEventData = G.ItemAdded;

// ---------------------------------------------------------------- the method and event tables

export type MethodName = keyof G.Methods;
export type ParamsOf<M extends MethodName> = G.Methods[M]["params"];
export type ResultOf<M extends MethodName> = G.Methods[M]["result"];

/** The methods that accept binary payload frames. */
export const PAYLOAD_METHODS: ReadonlySet<MethodName> = new Set<MethodName>(G.PAYLOAD_METHODS);

export type EventName = keyof G.Events;

/** One event as the client hands it out. */
export type SidecarEvent = {
  [E in EventName]: { name: E; seq: number; ts: number; data: G.Events[E] };
}[EventName];

export function isEventName(name: string): name is EventName {
  return (G.EVENT_NAMES as readonly string[]).includes(name);
}

export function majorOf(version: string): number | null {
  const m = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})$/.exec(version);
  return m ? Number(m[1]) : null;
}
