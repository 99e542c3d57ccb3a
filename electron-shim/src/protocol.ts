/**
 * The TypeScript view of the wire protocol (params, results, events, error codes).
 *
 * The definition is the pydantic models in `protocol/` (registry.py, core.py, media.py,
 * downloads.py, events.py, errors.py). These types are written by hand until the generated
 * ones land in `src/generated/`; `test/protocol-drift.test.ts` fails when a method, an event,
 * an error code or a params field here differs from the Python models.
 */

export const PROTOCOL_VERSION = "1.0.0";

// ---------------------------------------------------------------- error codes

export const ERROR_CODES = [
  "invalid_request",
  "unknown_method",
  "invalid_params",
  "unauthorized",
  "not_ready",
  "version_mismatch",
  "payload_too_large",
  "not_found",
  "conflict",
  "path_not_allowed",
  "storage_failed",
  "storage_blocked",
  "download_failed",
  "url_expired",
  "host_not_allowed",
  "cancelled",
  "busy",
  "shutting_down",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string | null;
  data?: Record<string, unknown> | null;
}

// ---------------------------------------------------------------- shared shapes

export type MediaType = "video" | "image" | "audio";
export type ItemStatus = "saved" | "unsaved" | "urlOnly" | "expired";
export type StorageErrorType =
  | "StorageBlocked"
  | "StorageTransient"
  | "StorageIOError"
  | "UrlExpired"
  | "DownloadFailed";

export interface StorageErrorInfo {
  message: string;
  /** ms since epoch */
  timestamp: number;
  errorType: StorageErrorType;
  /** The OS error name (ENOSPC, EROFS, ...). */
  errno?: string | null;
}

export interface MediaItem {
  id: string;
  projectId: string;
  name: string;
  type: MediaType;
  mimeType?: string | null;
  size?: number | null;
  sha256?: string | null;
  width?: number | null;
  height?: number | null;
  duration?: number | null;
  fps?: number | null;
  /** The remote (FAL) URL, persisted. */
  sourceUrl?: string | null;
  folderIds: string[];
  createdAt: number;
  updatedAt: number;
  status: ItemStatus;
  /** True only when the bytes are fsynced in the store. */
  durable: boolean;
  storageError?: StorageErrorInfo | null;
  /** Absolute path of the blob when saved, for playback by the app. */
  localPath?: string | null;
  /** Free-form, plus the seeds' flags: unsaved, urlOnly, storageError. */
  metadata: Record<string, unknown>;
}

export interface StatusCounts {
  saved: number;
  unsaved: number;
  urlOnly: number;
  expired: number;
  total: number;
}

export interface BatchSummary {
  attempted: number;
  saved: number;
  unsaved: number;
  urlOnly: number;
  expired: number;
  failed: number;
  itemIds: string[];
}

export interface ItemRef {
  id: string;
  projectId?: string;
}

// ---------------------------------------------------------------- session methods

export interface ClientInfo {
  name: string;
  version?: string;
}
export interface HelloParams {
  protocol: string;
  client?: ClientInfo;
}
export interface Limits {
  maxEnvelopeBytes: number;
  maxFrameBytes: number;
  maxFrames: number;
  maxInFlight: number;
  maxMetadataBytes: number;
  replayWindowMs: number;
}
export interface HelloResult {
  server: { name: string; version: string };
  protocol: string;
  /** Changes at every start of the server. */
  session: string;
  methods: string[];
  events: string[];
  limits: Limits;
  features: Record<string, boolean>;
  dataDir: string;
}

export type PingParams = Record<string, never>;
export interface PingResult {
  pong: boolean;
  time: number;
  uptimeMs: number;
}

export interface ShutdownParams {
  drainTimeoutMs?: number;
}
export interface ShutdownResult {
  accepted: boolean;
  inFlight: number;
}

export interface SubscribeParams {
  /** Empty or absent: every event. */
  events?: EventName[];
  projectId?: string;
}
export interface SubscribeResult {
  events: string[];
  projectId: string | null;
  seq: number;
}
export type UnsubscribeParams = Record<string, never>;
export interface UnsubscribeResult {
  unsubscribed: boolean;
}

// ---------------------------------------------------------------- media methods

export interface AddMediaItemParams {
  /** Client-chosen id; repeated adds with the same id and content are idempotent. */
  id?: string;
  projectId: string;
  name: string;
  type: MediaType;
  mimeType?: string;
  width?: number;
  height?: number;
  duration?: number;
  fps?: number;
  folderIds?: string[];
  metadata?: Record<string, unknown>;
  sourceUrl?: string;
  sourcePath?: string;
  download?: boolean;
  expectedSha256?: string;
}
export interface AddMediaItemResult {
  item: MediaItem;
  /** False when an identical item with this id existed. */
  created: boolean;
  durable: boolean;
}

export type GetMediaItemParams = ItemRef;
export interface GetMediaItemResult {
  item: MediaItem;
}

export type RemoveMediaItemParams = ItemRef;
export interface RemoveMediaItemResult {
  id: string;
  removed: boolean;
  blobDeleted: boolean;
}

export type SortKey = "createdAt" | "updatedAt" | "name" | "size";
export interface ListMediaItemsParams {
  projectId: string;
  type?: MediaType;
  status?: ItemStatus[];
  folderId?: string;
  text?: string;
  sort?: SortKey;
  order?: "asc" | "desc";
  limit?: number;
  cursor?: string;
}
export interface ListMediaItemsResult {
  items: MediaItem[];
  nextCursor: string | null;
  /** Counts by status for the whole project, ignoring filters. */
  counts: StatusCounts;
}

export type RetrySaveItemParams = ItemRef;
export interface RetrySaveItemResult {
  item: MediaItem;
  durable: boolean;
}

export interface RetryAllUnsavedParams {
  projectId: string;
}
export type RetryAllUnsavedResult = BatchSummary;

export type StorageStatusParams = Record<string, never>;
export interface StorageStatusResult {
  dataDir: string;
  writable: boolean;
  blocked: boolean;
  freeBytes: number;
  totalBytes: number;
  heldBytes: number;
  heldItems: number;
  lastError: StorageErrorInfo | null;
  counts: StatusCounts;
  rollbackOnFailure: boolean;
}

export type DownloadUrlOnlyItemParams = ItemRef;
export interface DownloadUrlOnlyItemResult {
  item: MediaItem;
  durable: boolean;
}
export interface DownloadAllUrlOnlyParams {
  projectId: string;
}
export type DownloadAllUrlOnlyResult = BatchSummary;
export type CancelDownloadParams = ItemRef;
export interface CancelDownloadResult {
  id: string;
  cancelled: boolean;
}

export type FaultOp = "blobWrite" | "blobFsync" | "dbCommit" | "clear";
export type FaultErrno = "ENOSPC" | "EDQUOT" | "EROFS" | "EACCES" | "EPERM" | "EIO" | "EAGAIN" | "EBUSY";
/** Test-only; served only by a server started with `--enable-test-hooks`. */
export interface FaultParams {
  op: FaultOp;
  errno?: FaultErrno;
  count?: number;
}
export interface FaultResult {
  active: Record<string, number>;
}

// ---------------------------------------------------------------- the method table

export interface Methods {
  hello: { params: HelloParams; result: HelloResult };
  ping: { params: PingParams; result: PingResult };
  shutdown: { params: ShutdownParams; result: ShutdownResult };
  subscribe: { params: SubscribeParams; result: SubscribeResult };
  unsubscribe: { params: UnsubscribeParams; result: UnsubscribeResult };
  addMediaItem: { params: AddMediaItemParams; result: AddMediaItemResult };
  getMediaItem: { params: GetMediaItemParams; result: GetMediaItemResult };
  removeMediaItem: { params: RemoveMediaItemParams; result: RemoveMediaItemResult };
  listMediaItems: { params: ListMediaItemsParams; result: ListMediaItemsResult };
  retrySaveItem: { params: RetrySaveItemParams; result: RetrySaveItemResult };
  retryAllUnsaved: { params: RetryAllUnsavedParams; result: RetryAllUnsavedResult };
  storageStatus: { params: StorageStatusParams; result: StorageStatusResult };
  downloadUrlOnlyItem: { params: DownloadUrlOnlyItemParams; result: DownloadUrlOnlyItemResult };
  downloadAllUrlOnly: { params: DownloadAllUrlOnlyParams; result: DownloadAllUrlOnlyResult };
  cancelDownload: { params: CancelDownloadParams; result: CancelDownloadResult };
  testFault: { params: FaultParams; result: FaultResult };
}
export type MethodName = keyof Methods;
export type ParamsOf<M extends MethodName> = Methods[M]["params"];
export type ResultOf<M extends MethodName> = Methods[M]["result"];

/** Every method, in the order of protocol/registry.py. */
export const METHOD_NAMES = [
  "hello",
  "ping",
  "shutdown",
  "subscribe",
  "unsubscribe",
  "addMediaItem",
  "getMediaItem",
  "removeMediaItem",
  "listMediaItems",
  "retrySaveItem",
  "retryAllUnsaved",
  "storageStatus",
  "downloadUrlOnlyItem",
  "downloadAllUrlOnly",
  "cancelDownload",
  "testFault",
] as const satisfies readonly MethodName[];

/** The methods that accept binary payload frames. */
export const PAYLOAD_METHODS: ReadonlySet<MethodName> = new Set<MethodName>(["addMediaItem"]);

// ---------------------------------------------------------------- events

export interface ItemEventData {
  item: MediaItem;
}
export interface Events {
  itemAdded: ItemEventData;
  itemSaved: ItemEventData;
  itemUnsaved: ItemEventData & { error: StorageErrorInfo };
  itemUrlOnly: ItemEventData & { error?: StorageErrorInfo | null };
  itemExpired: ItemEventData;
  itemRemoved: { id: string; projectId: string };
  downloadProgress: {
    id: string;
    projectId: string;
    bytesDone: number;
    totalBytes?: number | null;
    rateBps: number;
    final: boolean;
    /** On the final event: saved, expired, failed, cancelled, unsaved or urlOnly. */
    outcome?: string | null;
  };
  storageStatusChanged: {
    writable: boolean;
    blocked: boolean;
    reason?: string | null;
    error?: StorageErrorInfo | null;
  };
}
export type EventName = keyof Events;

export const EVENT_NAMES = [
  "itemAdded",
  "itemSaved",
  "itemUnsaved",
  "itemUrlOnly",
  "itemExpired",
  "itemRemoved",
  "downloadProgress",
  "storageStatusChanged",
] as const satisfies readonly EventName[];

/** One event as the client hands it out. */
export type SidecarEvent = {
  [E in EventName]: { name: E; seq: number; ts: number; data: Events[E] };
}[EventName];

export function isEventName(name: string): name is EventName {
  return (EVENT_NAMES as readonly string[]).includes(name);
}

export function majorOf(version: string): number | null {
  const m = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})$/.exec(version);
  return m ? Number(m[1]) : null;
}
