"""One download attempt, run in a worker thread: request, redirects, status, body into the sink.

Owns the HTTP side of a download and is the seam where httpx exceptions and socket errors are
translated (``raise ... from exc``): what leaves ``run_attempt`` is ``retry.Transient`` (retry
with backoff: timeouts, connection errors, 5xx/408/425/429, a cut body), ``Cancelled`` when the
attempt's ``Dial`` was aborted, or a final ``sidecar.errors`` exception / ``SinkWriteError``.

Resume: the sink keeps the bytes (and the hash state) of earlier attempts; the next attempt
asks for ``Range: bytes=<size>-`` with ``If-Range``. A 206 whose Content-Range matches is
appended; a 200 means the server sent the whole body again (range ignored or the file
changed), so the sink restarts from zero; a mismatching 206 or a 416 restarts too.

Redirects are followed here, never by httpx: every hop goes through ``UrlPolicy.check`` and
the transport only dials the hop's validated host.

Time: each hop's response head must arrive within ``head_timeout`` (the attempt tells its
``Dial`` when a head is awaited; the downloader's watchdog aborts the attempt past it), and
the whole attempt within ``attempt_deadline``. Size: ``max_bytes`` holds on the decoded bytes
as they stream and on the wire bytes (``sidecar.fetch.decode``: identity or one bounded
gzip/deflate layer; stacks are refused).
"""

from __future__ import annotations

import ssl
import time
from urllib.parse import urljoin

import httpx

from sidecar.errors import Cancelled, DownloadFailed, PayloadTooLarge, UrlExpired
from sidecar.fetch.config import FetchConfig
from sidecar.fetch.content import (
    content_length,
    if_range_validator,
    media_type,
    parse_content_range,
)
from sidecar.fetch.decode import BoundedDecoder, DecodeError, EncodingRefused, decoder_for
from sidecar.fetch.dial import Dial, dialing
from sidecar.fetch.retry import ResumeState, Transient, parse_retry_after
from sidecar.fetch.sink import Sink
from sidecar.fetch.transport import PinnedStream
from sidecar.fetch.urls import AllowedUrl, UrlPolicy

EXPIRED_STATUSES = frozenset({400, 401, 403, 404, 410})
RETRY_STATUSES = frozenset({408, 425, 429})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A block not yet full is handed to the sink after this long, so a slow download still
# reports progress (the shim's download calls time out on the lack of it).
PARTIAL_COMMIT_AFTER = 0.5
# Every exception class httpx raises derives from one of these.
HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError)


def run_attempt(client: httpx.Client, policy: UrlPolicy, start: AllowedUrl, *, sink: Sink,
                state: ResumeState, dial: Dial, config: FetchConfig) -> None:
    with dialing(dial):
        try:
            try:
                _attempt(client, policy, start, sink=sink, state=state, dial=dial, config=config)
            except HTTPX_ERRORS as exc:
                raise _translate(exc) from exc
        except Exception as exc:
            if dial.aborted and not isinstance(exc, Cancelled):
                # Whatever the shut-down socket made fail, the cause is the cancel.
                raise Cancelled("download cancelled") from exc
            raise


def _attempt(client: httpx.Client, policy: UrlPolicy, start: AllowedUrl, *, sink: Sink,
             state: ResumeState, dial: Dial, config: FetchConfig) -> None:
    if sink.size and not state.resumable:
        sink.restart()
    offset = sink.size
    headers: dict[str, str] = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if state.validator:
            headers["If-Range"] = state.validator

    target = start
    for _ in range(config.max_redirects + 1):
        dial.target = target
        dial.awaiting_head(config.head_timeout)
        response = client.send(client.build_request("GET", target.url, headers=headers),
                               stream=True)
        dial.head_received()
        try:
            status = response.status_code
            if status in REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise DownloadFailed(f"HTTP {status} redirect without a Location")
                target = policy.check(urljoin(target.url, location))
                continue
            _check_status(status, response, offset, sink, state)
            _read_body(response, target, offset, sink=sink, state=state, dial=dial, config=config)
            return
        finally:
            response.close()
    raise DownloadFailed(f"more than {config.max_redirects} redirects")


def _check_status(status: int, response: httpx.Response, offset: int, sink: Sink,
                  state: ResumeState) -> None:
    if status in EXPIRED_STATUSES:
        raise UrlExpired(f"the URL answered HTTP {status}: it is gone or no longer valid",
                         data={"status": status})
    if status in RETRY_STATUSES or 500 <= status < 600:
        raise Transient(f"HTTP {status}",
                        retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status == 416 and offset:
        sink.restart()
        state.resumable = False
        raise Transient("the server refused to resume (416); starting over")
    if status == 206 and not offset:
        raise DownloadFailed("HTTP 206 for a request without Range")
    if status not in (200, 206):
        raise DownloadFailed(f"unexpected HTTP status {status}", data={"status": status})


def _read_body(response: httpx.Response, target: AllowedUrl, offset: int, *, sink: Sink,
               state: ResumeState, dial: Dial, config: FetchConfig) -> None:
    headers = response.headers
    length = content_length(headers.get("content-length"))
    try:
        decoder = decoder_for(headers.get("content-encoding"))
    except EncodingRefused as exc:
        raise DownloadFailed(str(exc)) from None
    encoded = decoder is not None

    if response.status_code == 206:
        if encoded:  # a range of an encoded representation cannot continue a decoded file
            sink.restart()
            state.resumable = False
            raise Transient("the server sent an encoded range; starting over")
        crange = parse_content_range(headers.get("content-range"))
        etag = headers.get("etag")
        if (crange is None or crange.start != offset or crange.total is None
                or crange.end != crange.total - 1 or crange.total != state.total
                or (length is not None and length != crange.end - crange.start + 1)
                or (etag and state.etag and etag != state.etag)):
            sink.restart()
            state.resumable = False
            raise Transient("the server sent a different range or representation; starting over")
    else:  # a whole body: its type decides (a 206 continues the one already checked)
        mime = media_type(headers.get("content-type"), target.path)
        if mime is None:
            raise DownloadFailed(f"not a video, image or audio file "
                                 f"(Content-Type: {headers.get('content-type')})")
        if offset:
            sink.restart()  # a full body in answer to a range request: start over
        total = None if encoded else length
        if total is not None and total > config.max_bytes:
            raise PayloadTooLarge(f"the file is {total} bytes; the limit is {config.max_bytes}")
        accept = headers.get("accept-ranges", "").strip().lower()
        state.total = total
        state.etag = headers.get("etag")
        state.validator = if_range_validator(state.etag, headers.get("last-modified"))
        state.resumable = (total is not None and accept != "none"
                           and (accept == "bytes" or state.validator is not None))
        state.mime = mime
        if state.learned is not None:
            state.learned(state.total, state.etag, state.validator, mime)
    state.final_url = target.url

    stream = response.extensions.get("network_stream")
    if (isinstance(stream, PinnedStream) and stream.at_head_boundary and length is not None
            and not encoded and "transfer-encoding" not in headers):
        _read_direct(stream, length, sink=sink, state=state, dial=dial, config=config)
    else:
        if isinstance(stream, PinnedStream):
            stream.end_head_mode()
        _read_through_httpx(response, sink, dial, config, decoder)


def _read_direct(stream: PinnedStream, length: int, *, sink: Sink, state: ResumeState,
                 dial: Dial, config: FetchConfig) -> None:
    """Content-Length body straight from the socket into the sink's buffer: no copies."""
    stream.set_read_timeout(config.read_timeout)
    remaining = length
    committed_at = time.monotonic()
    while remaining:
        if dial.aborted:
            raise Transient("aborted")  # turned into Cancelled by run_attempt
        buf = sink.buffer
        limit = min(len(buf), remaining)
        n = 0
        try:
            while n < limit:
                k = stream.readinto(buf[n:limit])
                if not k:
                    raise Transient(f"connection closed after {sink.size + n} of "
                                    f"{state.total} bytes")
                n += k
                if n < limit and time.monotonic() - committed_at >= PARTIAL_COMMIT_AFTER:
                    break  # a slow link: hand over what arrived, so progress is reported
        except TimeoutError as exc:
            raise Transient(f"no data for {config.read_timeout} s") from exc
        except OSError as exc:  # ssl.SSLError included
            raise Transient(f"connection error: {exc}") from exc
        finally:
            sink.commit(n)  # what arrived is a valid prefix: kept for the resume
        committed_at = time.monotonic()
        remaining -= n


def _read_through_httpx(response: httpx.Response, sink: Sink, dial: Dial,
                        config: FetchConfig, decoder: BoundedDecoder | None) -> None:
    """Any other body (chunked, no length, content-encoded): the raw bytes through httpx
    (never its decoders), decoded here in bounded steps; both counts capped."""
    cap = config.max_bytes
    wire = 0
    for raw in response.iter_raw():
        if dial.aborted:
            raise Transient("aborted")
        wire += len(raw)
        if wire > cap:
            raise PayloadTooLarge(f"the download exceeds the limit of {cap} bytes")
        pieces = [raw] if decoder is None else decoder.feed(raw)
        try:
            for piece in pieces:
                if sink.size + len(piece) > cap:
                    raise PayloadTooLarge(f"the download exceeds the limit of {cap} bytes "
                                          "(decoded)")
                sink.write(piece)
        except DecodeError as exc:
            raise DownloadFailed(str(exc)) from None
    if decoder is not None and not decoder.complete:
        raise Transient(f"the {decoder.coding} body ended before its end marker")


def _translate(exc: Exception) -> Exception:
    """The one place httpx's exceptions become ours."""
    if _caused_by(exc, ssl.SSLCertVerificationError):
        return DownloadFailed(f"the server's certificate is not valid for this host: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return Transient(f"timed out: {exc or type(exc).__name__}")
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)):
        return Transient(f"connection failed: {exc or type(exc).__name__}")
    return DownloadFailed(f"HTTP client error ({type(exc).__name__}): {exc}")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
