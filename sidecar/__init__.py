"""media-sidecar: the server that owns an Electron editor's media library."""

__version__ = "0.1.0"
