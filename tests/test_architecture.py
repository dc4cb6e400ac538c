"""The rules of docs/architecture.md over the real code: the import graph (grimp, lazy imports
included), what ``import leadml.cli`` loads, and the habits (function length, keyword-only
parameters). ``make lint`` checks the import rules too, as import-linter contracts in pyproject.toml.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "leadml"
PACKAGES = ("cli", "app", "config", "data", "features", "modeling", "reasons", "scoring", "reporting", "tracking",
            "spark")
MAX_FUNCTION_LINES = 60
MAX_POSITIONAL = 4
HEAVY = ("mlflow", "lightgbm", "matplotlib", "pyspark")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("leadml", include_external_packages=True, cache_dir=None)


def _modules_of(graph: grimp.ImportGraph, package: str) -> list[str]:
    return sorted(m for m in graph.modules if m == package or m.startswith(package + "."))


def _direct_imports(graph: grimp.ImportGraph, importers: list[str], imported: str) -> list[str]:
    """Each import of ``imported`` (or a module inside it) by one of ``importers``, as 'module:line -> module'."""
    found = []
    for importer in importers:
        for target in graph.find_modules_directly_imported_by(importer):
            if target == imported or target.startswith(imported + "."):
                for detail in graph.get_import_details(importer=importer, imported=target):
                    found.append(f"{importer}:{detail['line_number']} -> {target}")
    return sorted(found)


def _chains(graph: grimp.ImportGraph, importer: str, imported: str) -> list[str]:
    """Every shortest chain, direct or through other modules, from ``importer`` to ``imported`` (packages)."""
    if importer not in graph.modules or imported not in graph.modules:
        return []
    return sorted(" -> ".join(chain) for chain in graph.find_shortest_chains(importer, imported, as_packages=True))


ONLY = [  # (external package, the one leadml package that may import it)
    ("mlflow", "tracking"),
    ("duckdb", "data"),
    ("psycopg", "data"),
    ("pyspark", "spark"),
    ("matplotlib", "reporting"),
    ("jinja2", "reporting"),
]


@pytest.mark.parametrize(("external", "owner"), ONLY, ids=[f"only-{owner}-imports-{ext}" for ext, owner in ONLY])
def test_only_one_package_imports_an_outside_library(graph, external, owner):
    others = [m for package in PACKAGES if package != owner for m in _modules_of(graph, f"leadml.{package}")]
    found = _direct_imports(graph, others, external)
    assert not found, f"only leadml.{owner} may import {external}:\n" + "\n".join(found)


NEVER = [  # (importer, what it must never reach, directly or through other modules)
    *[(f"leadml.{package}", target) for package in PACKAGES if package not in ("cli", "app")
      for target in ("leadml.cli", "leadml.app")],
    ("leadml.app", "leadml.cli"),
    *[("leadml.features", target) for target in ("leadml.data.sources", "leadml.data.files",
                                                 "leadml.data.table_mapping", "leadml.data.postgres",
                                                 "leadml.data.writeback", "leadml.tracking", "leadml.reporting",
                                                 "leadml.app")],
    *[("leadml.data", target) for target in ("leadml.features", "leadml.modeling", "leadml.scoring")],
    *[("leadml.data.demo_generator", target) for target in ("leadml.features", "leadml.modeling")],
]


@pytest.mark.parametrize(("importer", "imported"), NEVER, ids=[f"{a}-never-{b}" for a, b in NEVER])
def test_never_imports(graph, importer, imported):
    assert importer in graph.modules, f"{importer} is gone: update the rules here and in pyproject.toml"
    chains = _chains(graph, importer, imported)
    assert not chains, f"{importer} must never import {imported}:\n" + "\n".join(chains)


def test_importing_the_cli_loads_no_heavy_library():
    """A command's --help imports leadml.cli and nothing more: none of MLflow, LightGBM, matplotlib or PySpark."""
    code = f"import sys, leadml.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.split() == [], f"import leadml.cli loads {result.stdout.strip()}"


@pytest.mark.parametrize("command", ["score", "train"])
def test_the_data_path_loads_no_model_library(command: str):
    """``leadml score`` reads and builds its first chunk while the model loads on a thread, ``leadml train``
    builds its snapshot while the fit's libraries load on one: the code they run meanwhile imports none of
    MLflow, LightGBM, scikit-learn or matplotlib (importing them holds the GIL for seconds)."""
    modules = ("mlflow", "lightgbm", "sklearn", "matplotlib")
    code = f"import sys, leadml.app.{command}; print(' '.join(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.split() == [], f"import leadml.app.{command} loads {result.stdout.strip()}"


HELP = """
import json, sys
import typer.main
from leadml.cli import app, main
group = typer.main.get_command(app)
commands = [[name] for name in group.commands] + [["models", name] for name in group.commands["models"].commands]
found = {}
for command in [[], *commands]:
    sys.argv = ["leadml", *command, "--help"]
    try:
        main()
    except SystemExit as stop:
        assert stop.code in (0, None), (command, stop.code)
    found[" ".join(command) or "(none)"] = [m for m in HEAVY if m in sys.modules]
print(json.dumps(found))
"""


def test_every_commands_help_loads_no_heavy_library():
    """``leadml --help`` and ``leadml COMMAND --help`` for every command (and ``models`` subcommand) answer
    without importing MLflow, LightGBM, matplotlib or PySpark: each only when a command runs and uses it."""
    result = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + HELP], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(found) >= 14 and "score" in found and "models promote" in found, sorted(found)
    assert {command: heavy for command, heavy in found.items() if heavy} == {}


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        where = path.relative_to(SRC.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((where, node))
    return found


def function_too_long() -> list[str]:
    """Functions (def line to last line, docstring included) longer than MAX_FUNCTION_LINES."""
    return [f"{where}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for where, node in _functions() if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def too_many_positional() -> list[str]:
    """Functions that take more than MAX_POSITIONAL parameters positionally (self and cls not counted)."""
    offenders = []
    for where, node in _functions():
        positional = [arg.arg for arg in node.args.posonlyargs + node.args.args]
        if positional and positional[0] in ("self", "cls"):
            positional = positional[1:]
        if len(positional) > MAX_POSITIONAL:
            offenders.append(f"{where}:{node.lineno} {node.name} ({len(positional)} positional)")
    return offenders


def test_no_function_over_sixty_lines():
    offenders = function_too_long()
    assert not offenders, f"over {MAX_FUNCTION_LINES} lines (split into named helpers):\n" + "\n".join(offenders)


def test_more_than_four_parameters_are_keyword_only():
    offenders = too_many_positional()
    assert not offenders, ("more than four positional parameters (add a bare * and name the rest at every call):\n"
                           + "\n".join(offenders))


if __name__ == "__main__":  # python tests/test_architecture.py: list the offenders of the habits
    for line in function_too_long() + too_many_positional():
        print(line)
