"""The media service: the store's operations as protocol handlers (service/media.py), the
download operations (service/downloads.py), the store's workers (service/workers.py) and the
background retrier (service/retrier.py)."""
