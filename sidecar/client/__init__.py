"""The Python client of the sidecar: an async ``Client`` (one DEALER socket) and its
``SyncClient`` wrapper (``client``), the sans-I/O half of the wire every Python peer uses
(``frames``), and the one reader of connection files (``connection``)."""

from sidecar.client.client import BadReply, Client, ClientClosed, SyncClient, within
from sidecar.client.connection import (
    ConnectionFileError,
    ConnectionInfo,
    find_connection_files,
)
from sidecar.client.frames import RemoteError

__all__ = [
    "BadReply",
    "Client",
    "ClientClosed",
    "ConnectionFileError",
    "ConnectionInfo",
    "RemoteError",
    "SyncClient",
    "find_connection_files",
    "within",
]
