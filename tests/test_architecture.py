"""The shape of the code: imports run one way, and a channel is named only by its own class."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sim.channels import CHANNELS

SIM = Path(__file__).resolve().parent.parent / "sim"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SIM.parent).with_suffix("").parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Every sim module and the sim modules it imports, ``TYPE_CHECKING`` imports included."""
    modules = {module_name(p): p for p in SIM.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
        if path.name == "__init__.py" and "importlib.import_module" in path.read_text():
            graph[name] |= {m for m in modules if m.startswith(f"{name}.")}  # a registry importing its modules
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    circles = sorted(m for m in graph if m in reachable(graph, m))
    assert not circles, f"import circles through {circles}"


@pytest.mark.parametrize("module", ["sim.model", "sim.run", "sim.config", "sim.levers", "sim.agents"])
def test_the_model_never_imports_the_command_line_the_sweep_or_the_report(module: str) -> None:
    above = {m for m in reachable(import_graph(), module) if m.startswith(("sim.sweep", "sim.report", "sim.loading"))}
    assert not above, f"{module} imports {sorted(above)}"


#: Layers from the bottom up; a module imports only from its own layer or those below.
LAYERS = (
    ("sim.schema", "sim.protocols", "sim.capacity", "sim.timeline", "sim.workers", "sim.commands", "sim.intervals"),
    ("sim.levers",),
    ("sim.config",),
    ("sim.channels", "sim.sources", "sim.decision"),
    ("sim.option_table", "sim.ledger", "sim.transactions", "sim.world", "sim.anticipation"),
    ("sim.agents", "sim.metrics", "sim.consequences"),
    ("sim.model", "sim.run"),
    ("sim.settings_file",),
    ("sim.loading", "sim.results", "sim.sweep", "sim.report", "sim.__main__", "sim.bench", "sim.docs", "sim"),
    ("sim.targets", "sim.validate", "sim.calibrate", "sim.explore"),
)


def layer(module: str) -> int:
    """The layer of a module: the deepest prefix that names it wins (``sim`` alone is the package)."""
    matches = [
        (len(prefix), i)
        for i, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or (prefix != "sim" and module.startswith(f"{prefix}."))
    ]
    assert matches, f"{module} is in no layer of tests/test_architecture.py"
    return max(matches)[1]


def test_imports_run_down_the_layers() -> None:
    upward = [f"{m} -> {t}" for m, targets in import_graph().items() for t in targets if layer(t) > layer(m)]
    assert not upward, f"upward imports: {upward}"


def test_protocols_and_schema_import_nothing_from_sim() -> None:
    graph = import_graph()
    assert not graph["sim.protocols"] and not graph["sim.schema"]


def test_channel_names_are_spelled_only_by_their_classes() -> None:
    names = "|".join(CHANNELS)
    quoted = re.compile(rf"""["']({names})["']""")
    for path in SIM.rglob("*.py"):
        if path.name == "channels.py":
            continue
        code = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(code)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(node) is not None
        }
        for node in ast.walk(code):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert not quoted.search(repr(node.value)) and node.value not in CHANNELS, (
                    f"{path.relative_to(SIM.parent)}:{node.lineno} names channel {node.value!r}"
                )


def test_a_lever_is_named_only_by_its_module_config_group_test_docs_and_study() -> None:
    """The location-verification lever needed no edit elsewhere: only its own files name it."""
    import subprocess

    root = SIM.parent
    named = subprocess.run(
        ["git", "grep", "-l", "-e", "location_verification", "-e", "LocationVerification"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    own = (
        "sim/levers/location_verification.py",
        "configs/policy/location_verification/",
        "tests/test_location_verification.py",
        "configs/experiment/location_verification.yaml",
        "experiments/location_verification/",
        "docs/",
        "README.md",
        "CHANGELOG.md",
        "tests/test_architecture.py",
    )
    assert named and all(path.startswith(own) for path in named), named
