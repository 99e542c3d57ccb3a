"""The session: hello and version negotiation, not_ready before hello, ping, unknown methods
and params validation."""

from __future__ import annotations

from protocol.vocabulary import MediaType
from sidecar.tools.harness.context import Context
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.registry import case


@case("session.hello_handshake")
def hello_handshake(ctx: Context) -> None:
    """hello names the protocol (same major), the methods, events and limits."""
    peer = ctx.peer(hello=False)
    result = peer.hello()
    ours = ctx.book.protocol_version
    check(result["protocol"].split(".")[0] == ours.split(".")[0],
          f"server speaks {result['protocol']}, harness {ours}")
    wanted = {m for m, spec in ctx.book.methods.items() if not spec["testOnly"]}
    missing = wanted - set(result["methods"])
    check(not missing, f"hello.methods lacks {sorted(missing)}")
    unknown = set(result["methods"]) - set(ctx.book.methods)
    check(not unknown, f"hello.methods names methods not in the protocol: {sorted(unknown)}")
    missing_events = set(ctx.book.events) - set(result["events"])
    check(not missing_events, f"hello.events lacks {sorted(missing_events)}")
    for name, value in result["limits"].items():
        check(value > 0, f"limits.{name} is {value}")
    check(bool(result["session"]), "hello.session is empty")
    again = ctx.peer()
    check(again.hello_result is not None and again.hello_result["session"] == result["session"],
          "two connections to one server got different session ids")


@case("session.minor_version_accepted")
def minor_version_accepted(ctx: Context) -> None:
    """A client of a newer minor version of the same major is served."""
    major = ctx.book.protocol_version.split(".")[0]
    peer = ctx.peer(hello=False)
    peer.hello(f"{major}.999.0")
    peer.call("ping")


@case("session.version_mismatch")
def version_mismatch(ctx: Context) -> None:
    """hello with another major gets version_mismatch, and the session stays not ready."""
    major = int(ctx.book.protocol_version.split(".")[0])
    peer = ctx.peer(hello=False)
    peer.error("hello", {"protocol": f"{major + 1}.0.0"}, code="version_mismatch")
    peer.error("ping", code="not_ready")
    peer.hello()
    peer.call("ping")


@case("session.not_ready_before_hello")
def not_ready_before_hello(ctx: Context) -> None:
    """Every method but hello answers not_ready before hello, and changes nothing."""
    project = ctx.project()
    peer = ctx.peer(hello=False)
    for method, params in (
        ("ping", {}),
        ("listMediaItems", {"projectId": project}),
        ("addMediaItem", {"projectId": project, "name": "a.mp4", "type": MediaType.VIDEO,
                          "sourceUrl": ctx.media_url("not-ready")}),
        ("subscribe", {}),
        ("storageStatus", {}),
    ):
        peer.error(method, params, code="not_ready")
    peer.hello()
    page = peer.call("listMediaItems", {"projectId": project})
    check(page["items"] == [], "an add refused with not_ready was kept")


@case("session.ping")
def ping(ctx: Context) -> None:
    """ping answers pong with the server's clock."""
    result = ctx.peer().call("ping")
    check(result["pong"] is True, "ping.pong is not true")
    check(result["uptimeMs"] >= 0, "ping.uptimeMs is negative")


@case("session.unknown_method")
def unknown_method(ctx: Context) -> None:
    """A method the protocol does not have gets unknown_method."""
    peer = ctx.peer()
    peer.error("fly", code="unknown_method")
    peer.error("Ping", code="unknown_method")


@case("session.invalid_params_names_the_field")
def invalid_params_names_the_field(ctx: Context) -> None:
    """Params are validated strictly; the error names the first offending field."""
    peer = ctx.peer()
    project = ctx.project()
    peer.error("listMediaItems", {}, code="invalid_params", field="params.projectId")
    peer.error("ping", {"verbose": True}, code="invalid_params", field="params.verbose")
    peer.error("listMediaItems", {"projectId": project, "limit": "10"},
               code="invalid_params", field="params.limit")
    peer.error("addMediaItem", {"projectId": project, "name": "a", "type": "gif"},
               code="invalid_params", field="params.type")
    peer.error("listMediaItems", {"projectId": "../etc"}, code="invalid_params",
               field="params.projectId")


@case("session.params_names_are_camel_case_only")
def camel_case_only(ctx: Context) -> None:
    """Wire names are camelCase: a snake_case name is an unknown field, not an alias."""
    peer = ctx.peer()
    project = ctx.project()
    body = peer.error("listMediaItems", {"project_id": project}, code="invalid_params")
    check(body["field"] in ("params.projectId", "params.project_id"),
          f"the error names {body['field']!r}")
    peer.error("addMediaItem", {"projectId": project, "name": "a.mp4", "type": MediaType.VIDEO,
                                "source_url": ctx.media_url("snake")},
               code="invalid_params")


@case("session.payload_frames_refused_where_not_accepted")
def payload_frames_refused(ctx: Context) -> None:
    """Binary frames on a method that takes none are refused, not silently dropped."""
    peer = ctx.peer()
    served = []
    for method, params in (("ping", {}), ("storageStatus", {}),
                           ("listMediaItems", {"projectId": ctx.project()})):
        msg = peer.reply(peer.send(method, params, [b"stray bytes"]))
        if msg["type"] != "error":
            served.append(method)
            continue
        check(msg["error"]["code"] in ("invalid_params", "invalid_request"),
              f"{method} with a payload frame got {msg['error']['code']}")
    check(not served, f"served with a stray payload frame: {', '.join(served)}")
