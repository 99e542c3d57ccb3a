"""The Python client of the sidecar: an async ``Client`` (one DEALER socket) and its
``SyncClient`` wrapper, and where their connection details come from."""

from sidecar.client.client import (
    BadReply,
    Client,
    ClientClosed,
    ConnectionInfo,
    Received,
    RemoteError,
    SyncClient,
    find_connection_files,
    within,
)

__all__ = [
    "BadReply",
    "Client",
    "ClientClosed",
    "ConnectionInfo",
    "Received",
    "RemoteError",
    "SyncClient",
    "find_connection_files",
    "within",
]
