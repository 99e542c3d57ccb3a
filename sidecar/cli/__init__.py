"""The ``media-sidecar`` command line: serve, and the client-side tools."""
