"""One place reads the environment, and one generated table documents every setting.

The variables are a contract (launchers, the demo and the shim set them): their names are
listed here, and each one is checked to reach its field through the same path ``serve``
uses. The README table and ``serve --help`` are generated from the declarations; a drift or
an undeclared ``MEDIA_SIDECAR_*`` name in the sources fails here.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from protocol.vocabulary import FaultErrno, FaultOp, MediaType
from sidecar.cli.main import build_parser
from sidecar.cli.serve_cmd import build_settings
from sidecar.client import RemoteError, SyncClient
from sidecar.fetch.config import FetchConfig
from sidecar.setting import SettingError, declared
from sidecar.settings import Settings
from sidecar.settings_doc import README, REGENERATE, rows, splice
from sidecar.store.config import StoreConfig
from tests.support import ROOT, spawn_sidecar

# name -> (owner, field, a valid non-default value as text, the value it must become)
CONTRACT: dict[str, tuple[type, str, str, Any]] = {
    "MEDIA_SIDECAR_DATA_DIR": (Settings, "data_dir", "/srv/lib", Path("/srv/lib")),
    "MEDIA_SIDECAR_MAX_FRAME_BYTES": (Settings, "max_frame_bytes", "2048", 2048),
    "MEDIA_SIDECAR_MAX_RANGE_BYTES": (Settings, "max_range_bytes", "65_536", 65_536),
    "MEDIA_SIDECAR_DRAIN_TIMEOUT": (Settings, "drain_timeout", "2.5", 2.5),
    "MEDIA_SIDECAR_LOG_LEVEL": (Settings, "log_level", "DEBUG", "debug"),
    "MEDIA_SIDECAR_ROLLBACK_ON_FAILURE": (StoreConfig, "rollback_on_failure", "yes", True),
    "MEDIA_SIDECAR_HOLD_MEMORY_BUDGET": (StoreConfig, "hold_memory_budget", "1_000", 1000),
    "MEDIA_SIDECAR_SPILL_DIR": (StoreConfig, "spill_dir", "/srv/spill", Path("/srv/spill")),
    "MEDIA_SIDECAR_SPILL_BUDGET": (StoreConfig, "spill_budget", "4096", 4096),
    "MEDIA_SIDECAR_IMPORT_ROOTS": (StoreConfig, "import_roots", "/srv/a:/srv/b",
                                   (Path("/srv/a"), Path("/srv/b"))),
    "MEDIA_SIDECAR_AUTO_RETRY": (StoreConfig, "auto_retry", "off", False),
    "MEDIA_SIDECAR_RETRY_BACKOFF_INITIAL": (StoreConfig, "retry_backoff_initial", "0.25", 0.25),
    "MEDIA_SIDECAR_RETRY_BACKOFF_MAX": (StoreConfig, "retry_backoff_max", "5", 5.0),
    "MEDIA_SIDECAR_ALLOWED_HOSTS": (FetchConfig, "allowed_hosts", "a.example, *.b.example",
                                    ("a.example", "*.b.example")),
    "MEDIA_SIDECAR_ALLOW_HTTP_LOOPBACK": (FetchConfig, "allow_http_loopback", "1", True),
    "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES": (FetchConfig, "allow_private_addresses", "true",
                                              True),
    "MEDIA_SIDECAR_MAP_HOSTS": (FetchConfig, "map_hosts", "fal.media=93.184.216.34:8443",
                                ("MAP fal.media 93.184.216.34:8443",)),
    "MEDIA_SIDECAR_HOST_RESOLVER_RULES": (FetchConfig, "host_resolver_rules",
                                          "MAP fal.media 93.184.216.34",
                                          "MAP fal.media 93.184.216.34"),
    "MEDIA_SIDECAR_DOWNLOAD_MAX_BYTES": (FetchConfig, "max_bytes", "1000000", 1_000_000),
    "MEDIA_SIDECAR_CONNECT_TIMEOUT": (FetchConfig, "connect_timeout", "1.5", 1.5),
    "MEDIA_SIDECAR_READ_TIMEOUT": (FetchConfig, "read_timeout", "7", 7.0),
    "MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS": (FetchConfig, "max_attempts", "2", 2),
    "MEDIA_SIDECAR_DOWNLOAD_MAX_REDIRECTS": (FetchConfig, "max_redirects", "0", 0),
    "MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE": (FetchConfig, "backoff_base", "0.1", 0.1),
    "MEDIA_SIDECAR_DOWNLOAD_BACKOFF_MAX": (FetchConfig, "backoff_max", "1", 1.0),
    "MEDIA_SIDECAR_DOWNLOAD_HEAD_TIMEOUT": (FetchConfig, "head_timeout", "2", 2.0),
    "MEDIA_SIDECAR_DOWNLOAD_DEADLINE": (FetchConfig, "attempt_deadline", "3.5", 3.5),
    "MEDIA_SIDECAR_DOWNLOADS": (FetchConfig, "concurrency", "8", 8),
    "MEDIA_SIDECAR_DOWNLOADS_PER_HOST": (FetchConfig, "per_host", "1", 1),
    "MEDIA_SIDECAR_DOWNLOAD_QUEUE_PER_CLIENT": (FetchConfig, "queue_per_client", "3", 3),
    "MEDIA_SIDECAR_IMPORT_MAX_BYTES": (StoreConfig, "import_max_bytes", "4096", 4096),
    "MEDIA_SIDECAR_IMPORT_HARDLINKS": (StoreConfig, "import_hardlinks", "on", True),
    "MEDIA_SIDECAR_MAX_UNVERIFIED_BYTES": (Settings, "max_unverified_bytes", "1048576",
                                           1048576),
    "MEDIA_SIDECAR_EVENT_BUDGET_BYTES": (Settings, "event_budget_bytes", "65536", 65536),
    "MEDIA_SIDECAR_MAX_CONNECTIONS": (Settings, "max_connections", "100", 100),
    "MEDIA_SIDECAR_HELLO_TIMEOUT": (Settings, "hello_timeout", "2.5", 2.5),
    "MEDIA_SIDECAR_EVENT_LOOP": (Settings, "event_loop", "uvloop", "uvloop"),
}
# read by their own code, documented in the same table
SPECIAL = {"MEDIA_SIDECAR_SECRET", "MEDIA_SIDECAR_CA_FILE"}


def _serve_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def _settings(env: dict[str, str], *argv: str) -> Settings:
    s = build_settings(_serve_args(*argv), env)
    assert isinstance(s, Settings)
    return s


def _part(s: Settings, owner: type) -> Any:
    return {Settings: s, StoreConfig: s.store, FetchConfig: s.fetch}[owner]


@pytest.mark.parametrize("name", list(CONTRACT))
def test_each_variable_reaches_its_field_through_the_serve_path(name: str) -> None:
    owner, field_name, text, want = CONTRACT[name]
    before = getattr(_part(_settings({}), owner), field_name)
    assert before != want, "pick a non-default value"
    got = getattr(_part(_settings({name: text}), owner), field_name)
    assert got == want


def test_every_declared_variable_is_in_the_contract_and_the_table() -> None:
    declared_envs = {item.spec.env for cls in (Settings, StoreConfig, FetchConfig)
                     for item in declared(cls) if item.spec.env}
    assert declared_envs == set(CONTRACT) | SPECIAL
    table = {r.env for r in rows()}
    assert declared_envs <= table


def test_no_undeclared_variable_is_read_anywhere_in_the_sidecar() -> None:
    pattern = re.compile(r"MEDIA_SIDECAR_[A-Z_]+")
    declared_envs = {r.env for r in rows()}
    stray: dict[str, str] = {}
    for path in (ROOT / "sidecar").rglob("*.py"):
        if path.name == "setting.py":
            continue  # its docstring's example name
        for name in pattern.findall(path.read_text(encoding="utf-8")):
            if name not in declared_envs:
                stray[name] = str(path.relative_to(ROOT))
    assert not stray, f"variables used but not declared as settings: {stray}"


def test_the_readme_table_is_generated_from_the_declarations() -> None:
    current = README.read_text(encoding="utf-8")
    assert splice(current) == current, f"README.md settings table drifted: run `{REGENERATE}`"
    for r in rows():
        assert r.env in current and r.meaning.replace("|", "\\|") in current


def test_serve_help_prints_the_same_table() -> None:
    out = subprocess.run([sys.executable, "-m", "sidecar", "serve", "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    for r in rows():
        assert r.env in out.stdout and r.flag in out.stdout, r


def test_options_override_variables_and_lists_replace() -> None:
    env = {"MEDIA_SIDECAR_DRAIN_TIMEOUT": "3", "MEDIA_SIDECAR_ALLOWED_HOSTS": "a.example"}
    s = _settings(env, "--drain-timeout", "4", "--allow-host", "b.example",
                  "--allow-host", "*.c.example")
    assert s.drain_timeout == 4.0
    assert s.fetch.allowed_hosts == ("b.example", "*.c.example")
    assert _settings(env).drain_timeout == 3.0


def test_an_empty_variable_counts_as_unset() -> None:
    s = _settings({"MEDIA_SIDECAR_READ_TIMEOUT": "", "MEDIA_SIDECAR_AUTO_RETRY": " "})
    assert s.fetch.read_timeout == FetchConfig().read_timeout
    assert s.store.auto_retry is True


@pytest.mark.parametrize(("env", "says"), [
    ({"MEDIA_SIDECAR_SPILL_BUDGET": "-1"}, "MEDIA_SIDECAR_SPILL_BUDGET='-1': must be at least 0"),
    ({"MEDIA_SIDECAR_CONNECT_TIMEOUT": "inf"}, "finite"),
    ({"MEDIA_SIDECAR_AUTO_RETRY": "2"}, "MEDIA_SIDECAR_AUTO_RETRY='2'"),
])
def test_bad_values_name_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingError) as info:
        _settings(env)
    assert says in str(info.value)
    assert "\n" not in str(info.value)


def test_rollback_variable_switches_a_real_sidecar(tmp_path: Path) -> None:
    """MEDIA_SIDECAR_ROLLBACK_ON_FAILURE read by a real ``serve``, not built in a test."""
    outcomes = {}
    for value in ("1", "0"):
        (tmp_path / value).mkdir()
        sc = spawn_sidecar(tmp_path / value, "--enable-test-hooks", "--no-parent-watch",
                           env={"MEDIA_SIDECAR_ROLLBACK_ON_FAILURE": value,
                                "MEDIA_SIDECAR_AUTO_RETRY": "0"})
        try:
            with SyncClient(sc.connection_file, timeout=30) as c:
                status = c.call("storageStatus")
                c.call("testFault", {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.ENOSPC,
                                     "count": 1})
                try:
                    c.call("addMediaItem", {"id": "x", "projectId": "p", "name": "x",
                                            "type": MediaType.VIDEO}, payloads=[b"bytes"])
                    code = "ok"
                except RemoteError as exc:
                    code = exc.code
                listed = c.call("listMediaItems", {"projectId": "p"})["items"]
            outcomes[value] = (status["rollbackOnFailure"], code, [i["id"] for i in listed])
        finally:
            sc.stop()
    assert outcomes["1"] == (True, "storage_blocked", [])
    assert outcomes["0"] == (False, "ok", ["x"])
