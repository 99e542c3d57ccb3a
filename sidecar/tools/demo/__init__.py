"""The mission tour behind ``media-sidecar demo``: a FAL-like HTTPS host, small real videos,
storage that really fails, a sidecar launched like the shim launches it, and the steps."""
