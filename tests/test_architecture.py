"""The shape of the code, checked: the layer order of docs/architecture.md (no import against it, no
import cycle, imports under ``TYPE_CHECKING`` and inside functions counted too), the size limits, no
SQL outside the workspace package, no comment that points outside the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(r"\b(SELECT\s+.+\s+FROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.S)

# The layers of alc_data/, lowest first (docs/architecture.md says the same in words). A unit (a
# sub-package, or a module directly under alc_data/) may import its own layer and the layers below,
# never a layer above; within a layer any direction is allowed, but no cycle.
LAYERS: list[set[str]] = [
    {"alc_data", "constants", "choices", "errors", "results", "faults", "progress", "registry", "names", "overrides",
     "hints"},
    {"io"},
    {"workspace"},
    {"ingest", "demo"},
    {"foundation"},
    {"models"},
    {"train"},
    {"predict", "predictions"},
    {"scoring"},
    {"engine"},
    {"superpixels", "pseudo_label"},
    {"queries"},
    {"answers"},
    {"correction", "annotate"},
    {"evaluate", "audit", "info", "suspects"},
    {"publish", "export"},
    {"stages", "score_round"},
    {"loop"},
    {"testing"},
]

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400

def modules(package: str) -> dict[str, Path]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def imports(tree: ast.AST) -> list[str]:
    """Every module the file imports: at the top, inside functions and under ``if TYPE_CHECKING:``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found.extend(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the library modules it imports, the known violations left out. A package and its own
    submodules (re-exports in ``__init__``) are one unit."""
    mods = modules("alc_data")
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target in imports(ast.parse(path.read_text())):
            if target in mods and target != name and not (name.startswith(target + ".") or target.startswith(name + ".")):
                graph[name].add(target)
    return graph


def layer(module: str) -> int:
    unit = module.split(".")[1] if "." in module else module
    for rank, units in enumerate(LAYERS):
        if unit in units:
            return rank
    raise AssertionError(f"{module}: its unit {unit!r} has no layer; add it to LAYERS and docs/architecture.md")


def test_no_import_cycles_in_the_library():
    graph = import_graph()
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


def test_no_import_against_the_layer_order():
    upward = [f"{name} -> {target}" for name, targets in sorted(import_graph().items())
              for target in sorted(targets) if layer(target) > layer(name)]
    assert upward == []


def test_the_layer_order_is_the_documented_one():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    units = [unit for units in LAYERS for unit in sorted(units) if unit != "alc_data"]
    assert [u for u in units if f"`{u}`" not in doc] == []
    first = [min(doc.index(f"`{u}`") for u in units if u != "alc_data") for units in LAYERS[1:]]
    assert first == sorted(first), "docs/architecture.md names the layers in another order"


def test_the_library_never_imports_the_cli():
    offenders = [name for name, path in modules("alc_data").items()
                 if any(t.split(".")[0] in ("cli", "alc_data_cli") for t in imports(ast.parse(path.read_text())))]
    assert offenders == []


def _numba_kernel(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(re.search(r"\b(njit|jit)\b", ast.unparse(d)) for d in fn.decorator_list)


def test_no_long_function_and_no_long_module():
    long = []
    for path in sorted((ROOT / "alc_data").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _numba_kernel(node):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name}: {lines} lines")
    assert long == []


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
