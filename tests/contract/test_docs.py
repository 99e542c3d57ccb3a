"""The generated tables of docs/PROTOCOL.md match the models; the hand-written text is kept."""

from __future__ import annotations

from protocol import METHODS, ErrorCode
from protocol.docs import BEGIN, DOC_PATH, END, REGENERATE, generated_block, splice


def test_protocol_doc_tables_match_the_models() -> None:
    current = DOC_PATH.read_text(encoding="utf-8")
    assert splice(current) == current, f"docs/PROTOCOL.md drifted: run `{REGENERATE}`"


def test_generated_block_names_every_method_and_error_code() -> None:
    block = generated_block()
    for name in METHODS:
        assert f"| `{name}` |" in block
    for code in ErrorCode:
        assert f"| `{code}` |" in block


def test_splice_keeps_the_hand_written_text_and_replaces_only_the_block() -> None:
    doc = f"# Title\n\nhand text\n\n{BEGIN}\nold tables\n{END}\n"
    out = splice(doc)
    assert out.startswith("# Title\n\nhand text\n\n")
    assert "old tables" not in out
    assert out.count(BEGIN) == 1
    assert out.endswith(f"{END}\n")


def test_splice_appends_the_block_when_the_markers_are_absent() -> None:
    out = splice("# Title\n")
    assert out.startswith("# Title\n\n" + BEGIN)
