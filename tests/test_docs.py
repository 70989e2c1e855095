"""The documentation stands alone: nothing cites a file outside the repository, and every
source the ODD cites is in its bibliography (and every entry there is cited)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"
WORLD = ROOT / "configs" / "world" / "asia_2025.yaml"

# References to the project's original brief and news files, which live outside the
# repository. The patterns are written so that this file does not match them itself.
OUTSIDE = {
    "the original brief (its file name or its section numbers)": re.compile(r"\bDESIGN(?:\.md|\s+sections?\b|\s+\d)"),
    "a folder outside the repository": re.compile(r"\.\./shared/|/work/share[d]\b"),
    "the news files the project was seeded from": re.compile(r"\bthe\s+seeds\b|\bseeds/", re.IGNORECASE),
}
KEY = re.compile(r"\[([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)\]")
ENTRY = re.compile(r"^- \*\*\[([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)\]\*\*", re.MULTILINE)
BIB_HEADING = re.compile(r"^## (?:\d+\.\s*)?Bibliography\s*$", re.MULTILINE)


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name and not name.startswith(".ci/")]


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:  # listed in the index but deleted in the work tree
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _without_code(text: str) -> str:
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def _split_odd() -> tuple[str, str]:
    """The ODD without its bibliography, and the bibliography section."""
    text = _without_code(ODD.read_text())
    heading = BIB_HEADING.search(text)
    assert heading, "docs/ODD.md has no '## N. Bibliography' section"
    rest = text[heading.end() :]
    nxt = re.search(r"^## ", rest, re.MULTILINE)
    end = heading.end() + (nxt.start() if nxt else len(rest))
    return text[: heading.start()] + text[end:], text[heading.start() : end]


def test_no_file_cites_anything_outside_the_repository():
    found = []
    for path in _tracked_files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in OUTSIDE.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: cites {what}: {line.strip()[:100]}")
    assert not found, "the repository must stand alone; cite the ODD's sections or bibliography:\n" + "\n".join(found)


def test_every_cited_key_has_a_bibliography_entry_and_every_entry_is_cited():
    body, bibliography = _split_odd()
    entries = ENTRY.findall(bibliography)
    assert entries, "the bibliography has no entries ('- **[KEY]** ...')"
    duplicates = sorted({k for k in entries if entries.count(k) > 1})
    assert not duplicates, f"bibliography entries listed twice: {duplicates}"
    cited = set(KEY.findall(body)) | set(KEY.findall(ENTRY.sub("", bibliography)))
    missing = sorted(cited - set(entries))
    assert not missing, f"cited in docs/ODD.md but not in its bibliography: {missing}"
    uncited = sorted(set(entries) - set(KEY.findall(body)))
    assert not uncited, f"bibliography entries never cited in docs/ODD.md: {uncited}"


def test_bibliography_entries_name_publisher_and_date():
    _, bibliography = _split_odd()
    for block in re.split(r"^(?=- \*\*\[)", bibliography, flags=re.MULTILINE)[1:]:
        key = ENTRY.match(block).group(1)
        assert re.search(r"\b(19|20)\d\d\b", block), f"[{key}] has no date (an undated page: the day it was read)"
        assert "to be verified" not in block.lower(), f"[{key}] is marked to be verified: find its source or drop it"
        assert "Counts" in block or "Used for" in block, f"[{key}] does not say what it counts or is used for"


def test_every_world_default_cites_a_source_or_says_assumption():
    _, bibliography = _split_odd()
    entries = set(ENTRY.findall(bibliography))
    bad = []
    for number, line in enumerate(WORLD.read_text().splitlines(), 1):
        data, _, comment = line.partition("#")
        if not re.match(r"^\s*\w+:\s*\S", data):  # a mapping header, a comment or a blank line
            continue
        keys = set(KEY.findall(comment))
        if keys - entries:
            bad.append(f"line {number}: unknown keys {sorted(keys - entries)}: {line.strip()}")
        elif not keys and "assumption" not in comment.lower() and "definition" not in comment.lower():
            bad.append(f"line {number}: no [KEY] and no 'assumption': {line.strip()}")
    assert not bad, f"{WORLD.relative_to(ROOT)}:\n" + "\n".join(bad)
    assert yaml.safe_load(WORLD.read_text())  # still a valid YAML file


def _leaves(node: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in node.items():
        out |= _leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
    return out


def test_the_odd_quotes_each_fitted_value_as_the_calibrated_config_has_it():
    """Each calibrated parameter's table row says ``(fitted: v)`` with v its value to 3 significant figures."""
    calibrated = _leaves(yaml.safe_load((ROOT / "configs" / "calibrated" / "baseline.yaml").read_text()))
    rows = [line for line in ODD.read_text().splitlines() if line.startswith("|") and "(fitted: " in line]
    for path, value in calibrated.items():
        leaf = path.rsplit(".", 1)[1]
        (row,) = [r for r in rows if re.match(rf"\|\s*`?(?:[\w.]+\.)?{leaf}`?\s*\|", r)]
        for text in re.findall(r"fitted: ([0-9][0-9.,e+-]*[0-9])", row):  # every mention in the row
            shown = float(text.replace(",", ""))
            assert shown == pytest.approx(value, rel=5e-3), f"{path}: the ODD says {shown}, the config {value}"
    assert len(rows) == len(calibrated)
