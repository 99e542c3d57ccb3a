"""Signatures and MACs are compared in constant time, on both sides of the wire.

A static check (``==`` on a signature leaks, through timing, how many leading bytes of a
forgery were right): every comparison in the Python sources (sidecar/, protocol/) and the
shim's TypeScript (electron-shim/src/) is scanned. A comparison that involves a signature or
MAC, or any equality inside a function that computes one, must go through
``hmac.compare_digest`` / ``crypto.timingSafeEqual``; and each side's ``verify`` must use
them. Comparisons of lengths and with None/undefined are allowed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support import ROOT

MAC_WORD = re.compile(r"(?i)(?<![a-z])(sig|signature|signatures|mac|hmac|expected_sig)\w*")
LENGTHY = re.compile(r"(?i)(len\(|\.nbytes|\.byteLength|\.length|SIZE\b|^None$|^undefined$|^null$)")


def _py_files() -> list[Path]:
    return sorted(p for d in ("sidecar", "protocol") for p in (ROOT / d).rglob("*.py"))


def _computes_mac(fn: ast.AST) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            text = ast.unparse(f)
            if name == "sign" or text in {"hmac.new", "hmac.digest", "hmac.HMAC"}:
                return True
    return False


def _allowed(text: str) -> bool:
    return bool(LENGTHY.search(text)) or text.startswith(("'", '"', "b'", 'b"')) \
        or text.isdigit()


def python_violations(source: str, name: str) -> list[str]:
    tree = ast.parse(source)
    found: list[str] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        mac_fn = _computes_mac(fn)
        for node in ast.walk(fn):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            sides = [ast.unparse(x) for x in (node.left, *node.comparators)]
            if any(_allowed(s) for s in sides):
                continue
            if mac_fn or any(MAC_WORD.search(s) for s in sides):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


TS_CMP = re.compile(r"([\w.\]\)\[]+)\s*(===|!==|==|!=)\s*([\w.\[\]\(\)]+)")
TS_EQUALS = re.compile(r"([\w.]+)\.(equals|compare)\(([\w.]+)\)")


def ts_violations(source: str, name: str) -> list[str]:
    found: list[str] = []
    for no, line in enumerate(source.splitlines(), 1):
        code = line.split("//", 1)[0]
        for raw_left, _, raw_right in TS_CMP.findall(code):
            left, right = raw_left.strip("()[]"), raw_right.strip("()[]")
            if _allowed(left) or _allowed(right) or right in {"undefined", "null"}:
                continue
            if MAC_WORD.search(left) or MAC_WORD.search(right):
                found.append(f"{name}:{no}: {line.strip()}")
        for left, _, right in TS_EQUALS.findall(code):
            if MAC_WORD.search(left) or MAC_WORD.search(right) or "expected" in (left, right):
                found.append(f"{name}:{no}: {line.strip()}")
    return found


def test_python_never_compares_a_signature_with_eq() -> None:
    bad: list[str] = []
    for path in _py_files():
        bad += python_violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not bad, "signatures compared with ==/!= (use hmac.compare_digest):\n" + "\n".join(bad)


def test_typescript_never_compares_a_signature_with_eq() -> None:
    bad: list[str] = []
    for path in sorted((ROOT / "electron-shim" / "src").rglob("*.ts")):
        if "generated" in path.parts:
            continue
        bad += ts_violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not bad, "signatures compared with ===/equals (use timingSafeEqual):\n" + "\n".join(bad)


def test_both_verifiers_use_the_constant_time_primitive() -> None:
    py = ast.parse((ROOT / "sidecar" / "wire" / "signing.py").read_text(encoding="utf-8"))
    verify = next(n for n in ast.walk(py) if isinstance(n, ast.FunctionDef) and n.name == "verify")
    ret = max((n for n in ast.walk(verify) if isinstance(n, ast.Return)),
              key=lambda n: n.lineno)
    assert ret.value is not None and ast.unparse(ret.value).startswith("hmac.compare_digest(")
    ts = (ROOT / "electron-shim" / "src" / "signing.ts").read_text(encoding="utf-8")
    body = ts[ts.index("export function verify"):]
    body = body[:body.index("\n}\n")]
    assert re.search(r"return timingSafeEqual\(", body), body


def test_the_scanners_catch_the_planted_forms() -> None:
    """The scanners themselves: each way of writing the bug is found."""
    assert python_violations("def verify(k, s, e):\n    return sign(k, e) == s\n", "x")
    assert python_violations("def check(sig, want):\n    return sig != want\n", "x")
    assert python_violations("def f(a):\n    return bytes(a.signature) == b\n", "x")
    assert not python_violations("def f(sig):\n    return len(sig) == 32\n", "x")
    assert not python_violations("def f(sig):\n    return sig is None\n", "x")
    assert ts_violations("  return expected.equals(signature);", "x")
    assert ts_violations("  return Buffer.compare(expected, signature) === 0;", "x") or \
        ts_violations("  if (sig === expected) return true;", "x")
    assert ts_violations("  if (sig === expected) return true;", "x")
    assert not ts_violations("  if (signature === undefined) return;", "x")
    assert not ts_violations("  if (signature.byteLength !== SIGNATURE_SIZE) return false;", "x")
