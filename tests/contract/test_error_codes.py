"""Every ErrorCode is raised somewhere in sidecar/, or listed in RESERVED with a reason.

"Raised" means the server code (not the harness, which only expects codes) calls an
exception class whose ``code`` is that code, or names ``ErrorCode.X`` outside a class's
``code = ...`` declaration.
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
    modules = list(_modules())
    classes = _declared_codes(modules)
    declarations: set[int] = set()
    for module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                        declarations.add(id(stmt.value))
    found: set[ErrorCode] = set()
    for module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else (
                    func.attr if isinstance(func, ast.Attribute) else None)
                if name in classes:
                    found.add(classes[name])
            elif isinstance(node, ast.Attribute) and id(node) not in declarations:
                code = _error_code(node)
                if code is not None:
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
