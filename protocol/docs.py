"""The generated reference tables at the end of ``docs/PROTOCOL.md``.

Methods, events, shared types, the vocabulary and error codes are rendered from the same
JSON Schemas as ``protocol/schema/`` (so from the models) and written between two marker
comments; the hand-written text above the markers is never touched.

    python -m protocol.docs --write   # rewrite the generated block
    python -m protocol.docs --check   # exit 1 when docs/PROTOCOL.md drifted
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from protocol.errors import ANY_METHOD_ERRORS, ERROR_DOCS
from protocol.generated import block_cli
from protocol.registry import EVENTS, METHODS
from protocol.schema import build

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL.md"
REGENERATE = "python -m protocol.docs --write"
BEGIN = f"<!-- BEGIN GENERATED: {REGENERATE} -->"
END = "<!-- END GENERATED -->"

Schema = Mapping[str, Any]


def type_of(schema: Schema) -> str:
    """A short TypeScript-like name of a JSON Schema (``string``, ``MediaItem[]``, ...)."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return f'"{schema["const"]}"'
    if "enum" in schema:
        return " \\| ".join(f'"{v}"' for v in schema["enum"])
    if "anyOf" in schema:
        parts = [type_of(s) for s in schema["anyOf"]]
        return " \\| ".join(f"({p})" if "\\|" in p else p for p in parts)
    kind = schema.get("type")
    if kind == "array":
        inner = type_of(schema.get("items", {}))
        return f"({inner})[]" if "\\|" in inner else f"{inner}[]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            return f"map<{type_of(extra)}>"
        return "map"
    if kind is None:
        return "any"
    return str(kind)


def fields_of(schema: Schema, *, mark_optional: bool) -> str:
    """``name: type`` for every property; ``?`` marks the ones a client may omit."""
    props: Mapping[str, Schema] = schema.get("properties", {})
    if not props:
        return "—"
    required = set(schema.get("required", ()))
    parts = []
    for name, prop in props.items():
        optional = "?" if mark_optional and name not in required else ""
        parts.append(f"{name}{optional}: {type_of(prop)}")
    return ", ".join(parts)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _methods(files: Mapping[str, Schema]) -> list[str]:
    lines = [
        "### Methods",
        "",
        "Params marked `?` may be omitted. Full schemas: `protocol/schema/<method>.params.json` "
        "and `<method>.result.json`. The errors column lists each method's own codes; any "
        "method may also answer " + ", ".join(f"`{code}`" for code in ANY_METHOD_ERRORS) + ".",
        "",
        "| method | params | result | errors | what it does |",
        "|---|---|---|---|---|",
    ]
    for name, spec in METHODS.items():
        params = fields_of(files[f"{name}.params.json"], mark_optional=True)
        result = fields_of(files[f"{name}.result.json"], mark_optional=False)
        errors = ", ".join(f"`{code}`" for code in spec.errors) or "—"
        notes = []
        if spec.payloads:
            notes.append("Accepts binary payload frames.")
        if spec.reply_payloads:
            notes.append("Its reply carries one binary payload frame.")
        if spec.test_only:
            notes.append("Test only: served with `--enable-test-hooks`.")
        doc = " ".join([_one_line(spec.doc), *notes]).strip()
        lines.append(f"| `{name}` | {params} | {result} | {errors} | {doc} |")
    return lines


def _events(files: Mapping[str, Schema]) -> list[str]:
    lines = [
        "### Events",
        "",
        "The `data` of an `event` envelope. Full schemas: `protocol/schema/event.<name>.json`.",
        "",
        "| event | data | what it means |",
        "|---|---|---|",
    ]
    for name, spec in EVENTS.items():
        data = fields_of(files[f"event.{name}.json"], mark_optional=False)
        lines.append(f"| `{name}` | {data} | {_one_line(spec.doc)} |")
    return lines


def _types(files: Mapping[str, Schema]) -> list[str]:
    shared: dict[str, Schema] = {}
    for body in files.values():
        for def_name, definition in body.get("$defs", {}).items():
            if definition.get("type") == "object":
                shared.setdefault(def_name, definition)
    lines = [
        "### Shared types",
        "",
        "| type | fields | what it is |",
        "|---|---|---|",
    ]
    for def_name in sorted(shared):
        definition = shared[def_name]
        fields = fields_of(definition, mark_optional=False)
        lines.append(f"| `{def_name}` | {fields} | {_one_line(definition.get('description'))} |")
    return lines


def _words(files: Mapping[str, Schema]) -> list[str]:
    sets: dict[str, Schema] = {}
    for body in files.values():
        for def_name, definition in body.get("$defs", {}).items():
            if "enum" in definition and def_name != "ErrorCode":  # error codes: their own table
                sets.setdefault(def_name, definition)
    lines = [
        "### Vocabulary",
        "",
        "The closed sets of words the types above name (`protocol/vocabulary.py`; the "
        "TypeScript types have each as a const object and a union type).",
        "",
        "| type | words | what it is |",
        "|---|---|---|",
    ]
    for def_name in sorted(sets):
        definition = sets[def_name]
        words = ", ".join(f"`{word}`" for word in definition["enum"])
        lines.append(f"| `{def_name}` | {words} | {_one_line(definition.get('description'))} |")
    return lines


def _errors() -> list[str]:
    lines = [
        "### Error codes",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    for code, doc in ERROR_DOCS.items():
        lines.append(f"| `{code}` | {_one_line(doc)} |")
    return lines


def generated_block() -> str:
    """The whole block, markers included."""
    files = build()
    lines = [
        BEGIN,
        "<!-- Generated from the models in protocol/; edit those, then run the command above. -->",
        "",
        "## Reference (generated)",
        "",
        *_methods(files),
        "",
        *_events(files),
        "",
        *_types(files),
        "",
        *_words(files),
        "",
        *_errors(),
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def splice(document: str) -> str:
    """``document`` with its generated block replaced (or appended when absent)."""
    block = generated_block()
    start = document.find(BEGIN)
    if start < 0:
        return document.rstrip("\n") + "\n\n" + block
    end = document.find(END, start)
    if end < 0:
        raise ValueError(f"{BEGIN!r} without {END!r} in docs/PROTOCOL.md")
    tail = document[end + len(END):].lstrip("\n")
    return document[:start] + block + tail


def main(argv: list[str] | None = None) -> int:
    return block_cli(argv, prog="python -m protocol.docs", description=__doc__, path=DOC_PATH,
                     splice=splice, regenerate=REGENERATE)


if __name__ == "__main__":
    raise SystemExit(main())
