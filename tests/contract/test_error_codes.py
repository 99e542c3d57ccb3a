"""Every ErrorCode is raised somewhere in sidecar/, or listed in RESERVED with a reason.

"Raised" means the server code (not the harness, which only expects codes) uses an
exception class whose ``code`` is that code, or names ``ErrorCode.X`` outside a class's
``code = ...`` declaration (see ``raised_codes``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from protocol import ErrorCode

SIDECAR = Path(__file__).resolve().parents[2] / "sidecar"
EXCLUDED = (SIDECAR / "harness",)

# The one place where a code may be declared but never raised by this server.
RESERVED: dict[ErrorCode, str] = {}


def _modules() -> Iterator[ast.Module]:
    for path in sorted(SIDECAR.rglob("*.py")):
        if any(path.is_relative_to(root) for root in EXCLUDED):
            continue
        yield ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _error_code(node: ast.expr) -> ErrorCode | None:
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "ErrorCode" and node.attr in ErrorCode.__members__):
        return ErrorCode[node.attr]
    return None


def _declared_codes(modules: list[ast.Module]) -> dict[str, ErrorCode]:
    """Exception class name → its code, following subclasses across the package."""
    codes: dict[str, ErrorCode] = {}
    bases: dict[str, list[str]] = {}
    for module in modules:
        for node in ast.walk(module):
            if not isinstance(node, ast.ClassDef):
                continue
            bases[node.name] = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                                for b in node.bases]
            for stmt in node.body:
                target = (stmt.target if isinstance(stmt, ast.AnnAssign) else
                          stmt.targets[0] if isinstance(stmt, ast.Assign) else None)
                value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
                if (isinstance(target, ast.Name) and target.id == "code" and value is not None
                        and (code := _error_code(value)) is not None):
                    codes[node.name] = code
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name in codes:
                continue
            for parent in parents:
                if parent in codes:
                    codes[name] = codes[parent]
                    changed = True
                    break
    return codes


def raised_codes() -> set[ErrorCode]:
    """Codes the server can raise: an exception class of that code is used (called, or
    picked as a value like ``cls = StorageBlocked if ... else StorageFailed``), or
    ``ErrorCode.X`` is named outside a ``code = ...`` declaration. Class bases and
    ``except`` clauses do not count: they catch or extend, they do not raise."""
    modules = list(_modules())
    classes = _declared_codes(modules)
    skipped: set[int] = set()
    for module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.ClassDef):
                skipped.update(id(b) for b in node.bases)
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                        skipped.add(id(stmt.value))
            elif isinstance(node, ast.ExceptHandler) and node.type is not None:
                skipped.update(id(n) for n in ast.walk(node.type))
    found: set[ErrorCode] = set()
    for module in modules:
        for node in ast.walk(module):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Name) and node.id in classes:
                found.add(classes[node.id])
            elif isinstance(node, ast.Attribute):
                if node.attr in classes:
                    found.add(classes[node.attr])
                elif (code := _error_code(node)) is not None:
                    found.add(code)
    return found


def test_every_error_code_is_raised_by_the_server_or_reserved() -> None:
    missing = set(ErrorCode) - raised_codes() - set(RESERVED)
    assert not missing, (
        f"error codes never raised in sidecar/: {sorted(missing)}; raise them where they "
        "apply, or list them in tests/contract/test_error_codes.py RESERVED with a reason"
    )


def test_reserved_codes_are_not_raised() -> None:
    both = set(RESERVED) & raised_codes()
    assert not both, f"{sorted(both)} are raised now: remove them from RESERVED"
