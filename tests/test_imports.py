"""No import cycle between kcolor modules, counting imports inside functions.

Every module of the package is parsed with ``ast`` (nothing is imported); an edge
``a -> b`` is any ``import``/``from ... import`` in ``a`` (at module level, inside a
function, under ``if``/``try``; relative imports too) or ``importlib.import_module("...")``
with a literal name that names the kcolor module ``b``. ``from kcolor import x`` is an edge
to the submodule ``kcolor.x`` when there is one, else to the package ``kcolor``. Importing
``kcolor.a.b`` also runs ``kcolor/__init__.py`` and ``kcolor/a/__init__.py``; those implicit
edges are not counted (a package's ``__init__`` only loads its submodules lazily).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kcolor"

# Imports tolerated in a cycle while a refactor is under way, as (importer, imported) pairs,
# each with a TODO naming who removes it. Empty: the models._weights -> presets edge is gone.
# test_known_exceptions_are_still_real fails once a listed import no longer exists.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()


def module_names(package: Path) -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is_package)}`` for every ``.py`` file under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


def _owner(name: str, modules) -> str | None:
    """The module ``name`` denotes: itself, or the longest prefix that is a module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package: Path) -> dict[str, dict[str, int]]:
    """``{module: {imported module: first line}}`` between the modules of ``package``."""
    modules = module_names(package)
    root = package.name
    graph = {}
    for name, (path, is_package) in modules.items():
        here = name if is_package else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: from . import x, from ..a import b
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in modules else source)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                targets = [node.args[0].value]
            for target in targets:
                if target == root or target.startswith(root + "."):
                    owner = _owner(target, modules)
                    if owner and owner != name:
                        edges.setdefault(owner, node.lineno)
        graph[name] = edges
    return graph


def find_cycles(graph, ignore=frozenset()) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected group of modules, edges in
    ``ignore`` left out."""
    edges = {a: sorted(b for b in bs if (a, b) not in ignore) for a, bs in graph.items()}
    index, low, stack, on_stack, groups = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(set(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:  # a shortest cycle through the group's first module, for the message
        start = min(group)
        paths, seen = [[start]], {start}
        while paths:
            path = paths.pop(0)
            nxt = [w for w in edges[path[-1]] if w in group]
            if start in nxt:
                cycles.append(path + [start])
                break
            for w in nxt:
                if w not in seen:
                    seen.add(w)
                    paths.append(path + [w])
    return sorted(cycles)


def _describe(cycle, graph) -> str:
    steps = [f"{a} -> {b} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:], strict=False)]
    return "\n  ".join(steps)


def test_no_import_cycle_between_kcolor_modules():
    graph = import_graph(PACKAGE)
    cycles = find_cycles(graph, ignore=KNOWN_CYCLE_EDGES)
    assert not cycles, "import cycles between kcolor modules:\n  " + "\n\n  ".join(
        _describe(c, graph) for c in cycles
    )


def test_known_exceptions_are_still_real():
    graph = import_graph(PACKAGE)
    stale = [(a, b) for a, b in KNOWN_CYCLE_EDGES if b not in graph.get(a, {})]
    assert not stale, f"remove {stale} from KNOWN_CYCLE_EDGES: those imports are gone"


def test_the_modules_this_issue_untangled_stay_apart():
    graph = import_graph(PACKAGE)
    assert "kcolor.reports" not in graph["kcolor.callbacks"]
    assert not [
        m for m in graph["kcolor.metrics"] if m.startswith(("kcolor.datasets", "kcolor.models"))
    ]


# ---------------------------------------------------------------- the checker itself
def _package(tmp_path, files: dict[str, str]) -> Path:
    root = tmp_path / "kcolor"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.mark.parametrize(
    "a_imports_b",
    [
        "import kcolor.b\n",
        "from kcolor import b\n",
        "from kcolor.b import thing\n",
        "from . import b\n",
        "from .b import thing\n",
        "def f():\n    from kcolor.b import thing\n",  # lazy, inside a function
        "class C:\n    def m(self):\n        import kcolor.b as b\n",
        "try:\n    import kcolor.b\nexcept ImportError:\n    pass\n",
        "import importlib\nB = importlib.import_module('kcolor.b')\n",
    ],
)
def test_the_checker_sees_every_kind_of_import(tmp_path, a_imports_b):
    root = _package(
        tmp_path,
        {"__init__.py": "", "a.py": a_imports_b, "b.py": "from kcolor.a import x\n"},
    )
    graph = import_graph(root)
    assert "kcolor.b" in graph["kcolor.a"]
    assert find_cycles(graph) == [["kcolor.a", "kcolor.b", "kcolor.a"]]
    assert "kcolor.a -> kcolor.b (line" in _describe(find_cycles(graph)[0], graph)


def test_the_checker_resolves_packages_and_names(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "from kcolor.errors import E\n",
            "errors.py": "E = 1\n",
            "sub/__init__.py": "",
            "sub/x.py": "from ..errors import E\nfrom kcolor import E as F\nfrom . import y\n",
            "sub/y.py": "import numpy\nimport kcolor.sub.x.attr\n",
        },
    )
    graph = import_graph(root)
    # `from kcolor import E` (not a module) is the package; `kcolor.sub.x.attr` is kcolor.sub.x
    assert set(graph["kcolor.sub.x"]) == {"kcolor.errors", "kcolor", "kcolor.sub.y"}
    assert set(graph["kcolor.sub.y"]) == {"kcolor.sub.x"}
    assert find_cycles(graph) == [["kcolor.sub.x", "kcolor.sub.y", "kcolor.sub.x"]]
    assert find_cycles(graph, ignore={("kcolor.sub.y", "kcolor.sub.x")}) == []


@pytest.mark.parametrize(
    "old, new",
    [
        ("kcolor.colorizer", "kcolor.inference.colorizer"),
        ("kcolor.batch", "kcolor.inference.batch"),
        ("kcolor.vividness", "kcolor.inference.vividness"),
        ("kcolor.training.folder", "kcolor.presets.run_folder"),
        ("kcolor.judges", "kcolor.evaluation.judges"),
    ],
)
def test_old_import_paths_warn_and_are_the_new_modules(old, new):
    import importlib
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


# The floors of the house, lowest first: a module may import its own floor and the floors
# below, never one above (the data's path: pixels -> networks -> presets -> colouring ->
# training -> measuring -> the user's commands). The longest matching prefix decides a
# module's floor. Deprecated alias modules (kcolor._deprecated users) are exempt.
FLOORS: list[tuple[str, ...]] = [
    (  # ground floor: no Keras model, no preset
        "kcolor.errors",
        "kcolor._deprecated",
        "kcolor._lazy",
        "kcolor.backend",
        "kcolor.formatting",
        "kcolor.palette",
        "kcolor.color",
        "kcolor.io",
        "kcolor.layers",
        "kcolor.losses",
        "kcolor.metrics",
    ),
    (  # preset files (format, registry, downloads, weights, the run folder's layout), CLI
        # argument types, and the report of a run folder (it reads RunFolder; no Keras)
        "kcolor.presets.format",
        "kcolor.presets.run_folder",
        "kcolor.presets.registry",
        "kcolor.presets.download",
        "kcolor.presets.weights",
        "kcolor.presets.vividness_record",
        "kcolor.argtypes",
        "kcolor.report",
    ),
    ("kcolor.models", "kcolor.curation", "kcolor.video"),
    # the root package's __init__ (version, DEFAULT_PRESET) sits with the presets
    ("kcolor.datasets", "kcolor.presets", "kcolor.callbacks", "kcolor"),
    ("kcolor.inference", "kcolor.fast"),
    ("kcolor.distributed",),
    ("kcolor.training",),
    ("kcolor.evaluation",),
    ("kcolor.serve", "kcolor.cli", "kcolor.__main__"),
]

# Upward imports tolerated while a refactor is under way, each with the reason.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def floor_of(module: str) -> int | None:
    best, floor = -1, None
    for i, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            below = module.startswith(prefix + ".") and prefix != "kcolor"  # root: itself only
            if (module == prefix or below) and len(prefix) > best:
                best, floor = len(prefix), i
    return floor


def _aliases(graph) -> set[str]:
    return {m for m, edges in graph.items() if "kcolor._deprecated" in edges} | {
        m for m in graph if m == "kcolor.data" or m.startswith("kcolor.data.")
    }


def test_every_module_has_a_floor():
    graph = import_graph(PACKAGE)
    assert not [m for m in graph if floor_of(m) is None and m not in _aliases(graph)]


def test_nothing_imports_upward():
    graph = import_graph(PACKAGE)
    aliases = _aliases(graph)
    upward = [
        f"{a} (floor {floor_of(a)}) -> {b} (floor {floor_of(b)}), line {line}"
        for a, edges in graph.items()
        if a not in aliases
        for b, line in edges.items()
        if b not in aliases
        and floor_of(b) is not None
        and floor_of(a) is not None
        and floor_of(b) > floor_of(a)
        and (a, b) not in KNOWN_UPWARD
    ]
    assert not upward, "upward imports:\n  " + "\n  ".join(sorted(upward))


def test_known_upward_imports_are_still_real():
    graph = import_graph(PACKAGE)
    stale = [(a, b) for a, b in KNOWN_UPWARD if b not in graph.get(a, {})]
    assert not stale, f"remove {stale} from KNOWN_UPWARD: those imports are gone"


def test_no_module_over_500_lines():
    """One idea per file: a module that grows past 500 lines holds more than one."""
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert not long, f"split these modules: {long}"
