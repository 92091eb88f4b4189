"""The shape of the code, checked: no import cycles in the library, no SQL outside the workspace
package, no comment that points outside the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.S)


def modules(package: str) -> dict[str, Path]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def runtime_imports(tree: ast.AST) -> list[str]:
    """Modules imported anywhere in the file except under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found.extend(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
    return found


def test_no_import_cycles_in_the_library():
    mods = modules("alc_data")
    graph = {m: set() for m in mods}
    for name, path in mods.items():
        for target in runtime_imports(ast.parse(path.read_text())):
            # a package and its own submodules (re-exports in __init__) are one unit
            if target in mods and target != name and not (name.startswith(target + ".") or target.startswith(name + ".")):
                graph[name].add(target)
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_no_sql_outside_the_workspace_package():
    offenders = []
    for package in ("alc_data", "cli"):
        for name, path in modules(package).items():
            if name.startswith("alc_data.workspace"):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_comment_points_outside_the_repository():
    offenders = []
    for package in ("alc_data", "cli", "benchmarks", "recipes", "docs"):
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".md", ".toml") and re.search(r"DESIGN\.md|\.\./shared|/shared/fixtures", path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
