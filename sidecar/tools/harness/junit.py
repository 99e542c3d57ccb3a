"""JUnit XML for CI: one testsuite, one testcase per harness case."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

Row = tuple[str, str, str, float]  # name, PASS|FAIL|SKIP, why, seconds


def write_junit(path: Path, rows: Sequence[Row], suite: str = "media-sidecar-harness") -> None:
    failures = sum(status == "FAIL" for _, status, _, _ in rows)
    skipped = sum(status == "SKIP" for _, status, _, _ in rows)
    root = ET.Element("testsuite", name=suite, tests=str(len(rows)), failures=str(failures),
                      errors="0", skipped=str(skipped),
                      time=f"{sum(r[3] for r in rows):.3f}")
    for name, status, why, seconds in rows:
        group, _, short = name.rpartition(".")
        tc = ET.SubElement(root, "testcase", classname=f"harness.{group or 'cases'}",
                           name=short, time=f"{seconds:.3f}")
        if status == "FAIL":
            ET.SubElement(tc, "failure", message=why).text = why
        elif status == "SKIP":
            ET.SubElement(tc, "skipped", message=why)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
