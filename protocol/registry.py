"""The table of methods and events: name → models. Everything generated reads this."""

from __future__ import annotations

from dataclasses import dataclass

from protocol import control, downloads, media
from protocol.base import Params, Result
from protocol.errors import ErrorCode
from protocol.events import EVENT_TYPES, Event

_E = ErrorCode


@dataclass(frozen=True)
class MethodSpec:
    name: str
    params: type[Params]
    result: type[Result]
    errors: tuple[ErrorCode, ...]
    payloads: bool = False  # accepts binary payload frames
    reply_payloads: bool = False  # its reply carries exactly one binary payload frame
    test_only: bool = False

    @property
    def doc(self) -> str:
        return " ".join((self.params.__doc__ or "").split())


@dataclass(frozen=True)
class EventSpec:
    name: str
    data: type[Event]

    @property
    def doc(self) -> str:
        return " ".join((self.data.__doc__ or "").split())


_ITEM = (_E.NOT_FOUND, _E.INVALID_PARAMS)

_METHOD_LIST: tuple[MethodSpec, ...] = (
    MethodSpec("hello", control.HelloParams, control.HelloResult, (_E.VERSION_MISMATCH,)),
    MethodSpec("ping", control.PingParams, control.PingResult, ()),
    MethodSpec("shutdown", control.ShutdownParams, control.ShutdownResult, ()),
    MethodSpec("subscribe", control.SubscribeParams, control.SubscribeResult, (_E.INVALID_PARAMS,)),
    MethodSpec("unsubscribe", control.UnsubscribeParams, control.UnsubscribeResult, ()),
    MethodSpec(
        "addMediaItem",
        media.AddMediaItemParams,
        media.AddMediaItemResult,
        (_E.INVALID_PARAMS, _E.CONFLICT, _E.PATH_NOT_ALLOWED, _E.PAYLOAD_TOO_LARGE,
         _E.STORAGE_FAILED, _E.STORAGE_BLOCKED, _E.HOST_NOT_ALLOWED, _E.URL_EXPIRED,
         _E.DOWNLOAD_FAILED, _E.CANCELLED),
        payloads=True,
    ),
    MethodSpec("getMediaItem", media.GetMediaItemParams, media.GetMediaItemResult, _ITEM),
    MethodSpec("removeMediaItem", media.RemoveMediaItemParams, media.RemoveMediaItemResult,
               _ITEM),
    MethodSpec("listMediaItems", media.ListMediaItemsParams, media.ListMediaItemsResult,
               (_E.INVALID_PARAMS,)),
    MethodSpec("retrySaveItem", media.RetrySaveItemParams, media.RetrySaveItemResult,
               (*_ITEM, _E.CONFLICT)),
    MethodSpec("retryAllUnsaved", media.RetryAllUnsavedParams, media.RetryAllUnsavedResult,
               (_E.INVALID_PARAMS,)),
    MethodSpec("getMediaSource", media.GetMediaSourceParams, media.GetMediaSourceResult,
               _ITEM),
    MethodSpec("readMediaRange", media.ReadMediaRangeParams, media.ReadMediaRangeResult,
               (*_ITEM, _E.NO_LOCAL_BYTES, _E.STORAGE_FAILED), reply_payloads=True),
    MethodSpec("storageStatus", media.StorageStatusParams, media.StorageStatusResult, ()),
    MethodSpec(
        "downloadUrlOnlyItem",
        downloads.DownloadUrlOnlyItemParams,
        downloads.DownloadUrlOnlyItemResult,
        (*_ITEM, _E.CONFLICT, _E.HOST_NOT_ALLOWED, _E.URL_EXPIRED, _E.DOWNLOAD_FAILED,
         _E.CANCELLED),
    ),
    MethodSpec("downloadAllUrlOnly", downloads.DownloadAllUrlOnlyParams,
               downloads.DownloadAllUrlOnlyResult, (_E.INVALID_PARAMS,)),
    MethodSpec("cancelDownload", downloads.CancelDownloadParams, downloads.CancelDownloadResult,
               _ITEM),
    MethodSpec("listDownloads", downloads.ListDownloadsParams, downloads.ListDownloadsResult,
               (_E.INVALID_PARAMS,)),
    MethodSpec("testFault", media.FaultParams, media.FaultResult, (_E.INVALID_PARAMS,),
               test_only=True),
)

METHODS: dict[str, MethodSpec] = {m.name: m for m in _METHOD_LIST}
EVENTS: dict[str, EventSpec] = {e.name: EventSpec(e.name, e) for e in EVENT_TYPES}
