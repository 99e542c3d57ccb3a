"""The protocol version (semver) and the compatibility rule: majors must match."""

from __future__ import annotations

PROTOCOL_VERSION = "1.0.0"


def parse(version: str) -> tuple[int, int, int]:
    """Parse ``MAJOR.MINOR.PATCH``; raise ValueError on anything else."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise ValueError(f"not a semver version: {version!r}")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch


def is_compatible(client_version: str, server_version: str = PROTOCOL_VERSION) -> bool:
    """A client speaks to a server when their major versions are equal."""
    try:
        return parse(client_version)[0] == parse(server_version)[0]
    except ValueError:
        return False
