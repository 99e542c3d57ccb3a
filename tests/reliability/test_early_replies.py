"""What the sidecar says before its models load is what the models say: the hello reply, the
error replies and the "plain hello" check of ``sidecar.rpc.early``, and the generated facts
they read (``sidecar/wire/facts.py``) against ``protocol``."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from protocol import EVENTS, METHODS, PROTOCOL_VERSION, ErrorBody, ErrorCode
from protocol.control import HelloParams, HelloResult
from protocol.envelope import SIGNATURE_DOMAIN, SIGNATURE_SIZE, ErrorReply, Reply, Request
from sidecar.rpc.early import (
    error_envelope,
    hello_result,
    plain_hello,
    reply_envelope,
    served_methods,
)
from sidecar.settings import Settings
from sidecar.store.config import StoreConfig
from sidecar.wire import facts, facts_gen
from sidecar.wire.codec import encode


def _settings(tmp: Path, *, hooks: bool, rollback: bool) -> Settings:
    return Settings(data_dir=tmp / "data", secret=b"k" * 32, runtime_dir=tmp,
                    enable_test_hooks=hooks, max_in_flight=7, max_range_bytes=12345,
                    store=StoreConfig(rollback_on_failure=rollback))


def test_the_prebuilt_hello_is_the_model_built_hello(tmp_path: Path) -> None:
    for hooks, rollback in ((False, False), (True, True)):
        s = _settings(tmp_path, hooks=hooks, rollback=rollback)
        built = hello_result(s, "a" * 32, served_methods(hooks))
        model = HelloResult.model_validate(built)
        assert model.wire() == built
        assert built["methods"] == [m for m, spec in METHODS.items()
                                    if hooks or not spec.test_only]
        assert built["limits"]["maxInFlightServer"] == 7
        assert built["limits"]["maxRangeBytes"] == 12345
        assert built["features"]["rollbackOnFailure"] is rollback
        envelope = reply_envelope("id-1", built)
        assert envelope == Reply(type="reply", id="id-1", ts=envelope["ts"],
                                 result=model.wire()).model_dump()


def test_the_prebuilt_error_reply_is_the_model_built_one() -> None:
    for rid, code in (("id-1", facts.INTERNAL), (None, facts.INTERNAL), ("x", "storage_failed")):
        built = error_envelope(rid, code, "why")
        model = ErrorReply(type="error", id=rid, ts=built["ts"],
                           error=ErrorBody(code=ErrorCode(code), message="why"))
        assert built == model.model_dump(mode="json", by_alias=True)
        assert encode(built) == encode(model.model_dump(mode="json", by_alias=True))


def test_the_generated_facts_are_the_protocol_s() -> None:
    assert facts_gen.PATH.read_text(encoding="utf-8") == facts_gen.render(), (
        f"sidecar/wire/facts.py drifted: run `{facts_gen.REGENERATE}`")
    assert facts.PROTOCOL_VERSION == PROTOCOL_VERSION
    assert (facts.SIGNATURE_DOMAIN, facts.SIGNATURE_SIZE) == (SIGNATURE_DOMAIN, SIGNATURE_SIZE)
    assert tuple(EVENTS) == facts.EVENTS
    assert tuple((m, spec.test_only) for m, spec in METHODS.items()) == facts.METHODS


_text = st.one_of(st.sampled_from(["", "n", "é" * 64, "é" * 65, "x" * 128, "x" * 129]),
                  st.text(max_size=3))
_other = st.one_of(st.none(), st.integers(-1, 3), st.booleans(), st.binary(max_size=2),
                   st.just([]), st.just({}))
_client = st.one_of(
    st.none(), _other,
    st.dictionaries(st.sampled_from(["name", "version", "extra"]), st.one_of(_text, _other),
                    max_size=3))
_params = st.dictionaries(
    st.sampled_from(["protocol", "client", "extra"]),
    st.one_of(st.sampled_from([PROTOCOL_VERSION, "1.7.0", "2.0.0", "1.0", ""]), _client,
              _other),
    max_size=3)
_envelope = st.fixed_dictionaries(
    {"type": st.sampled_from(["request", "reply"]), "id": st.sampled_from(["a", "", "x" * 129]),
     "method": st.sampled_from(["hello", "ping"]), "ts": st.sampled_from([1, -1, True])},
    optional={"params": st.one_of(_params, _other), "extra": _other})


def _model_says(raw: dict[str, object]) -> str | None:
    """The client's name if the models accept ``raw`` as a hello of exactly this version."""
    try:
        req = Request.model_validate(raw)
        params = HelloParams.model_validate(req.params, by_name=False)
    except ValidationError:
        return None
    if req.method != "hello" or params.protocol != PROTOCOL_VERSION:
        return None
    return params.client.name if params.client else ""


@settings(max_examples=1500, deadline=None, database=None, derandomize=True)
@given(_envelope)
def test_plain_hello_accepts_only_what_the_models_accept(raw: dict[str, object]) -> None:
    assert plain_hello(raw) == _model_says(raw)


def test_plain_hello_on_the_usual_shapes() -> None:
    base: dict[str, object] = {"type": "request", "id": "a", "method": "hello", "ts": 1}
    hello = {**base, "params": {"protocol": PROTOCOL_VERSION}}
    assert plain_hello(hello) == ""
    assert plain_hello({**base, "params": {"protocol": PROTOCOL_VERSION,
                                           "client": {"name": "app", "version": "1"}}}) == "app"
    assert plain_hello({**base, "params": {"protocol": "1.1.0"}}) is None  # the models decide
    assert plain_hello({**base, "params": {"protocol": PROTOCOL_VERSION, "x": 1}}) is None
    assert plain_hello(base) is None
