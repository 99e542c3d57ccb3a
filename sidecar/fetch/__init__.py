"""The downloader: ``Downloader`` (sidecar.fetch.downloader) behind the seam in ``api``.

Layers, each its own module:
  urls       URL policy: strict parsing, host normalization, allow-list (no network)
  resolve    resolver rules, address policy, one lookup per connection
  dial       the per-attempt connection permit and its abort handle
  transport  the pinned connection under httpx (and the direct body reads)
  content    media type, Content-Range and validator rules
  retry      what is retryable, backoff, state carried across attempts
  attempt    one HTTP attempt in a worker thread; translates httpx/socket errors
  sink       the destination file, written inline, hashed beside
  downloader Downloader: attempts, backoff, resume, progress, cancel, cleanup

Importing this package (and building a Downloader) does not import httpx.
"""
