"""The house plan, read from the code: arrows point down and nothing imports in a circle.

`app` -> faces (`ui`, `web`, `cli`, `bot`) -> `sources` -> `core`. `core` imports no source and
no face, a source imports no face, a face imports no other face, and no set of modules imports
itself round in a circle. Imports under `if TYPE_CHECKING:` are type hints only, and do not
count. Run as a script (`python tests/test_architecture.py`) it prints the counts.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "audiofetch_app"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
FACES = ("ui", "web", "cli", "bot")
TOP_LEVEL_ALLOWED = {"__init__", "__main__", "settings", "app"}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every audiofetch_app module `tree` imports at run time (relative imports resolved)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.split(".")[0] == PACKAGE)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.split(".")[0] != PACKAGE:
                    continue
                found.add(base)
                # `from audiofetch_app.sources import spaces` imports the module spaces.
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (only names that are modules)."""
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = _imports(tree, name, path.name == "__init__.py")
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def layer(module: str) -> tuple[str, str]:
    """(layer, part): ('core', ''), ('source', 'page'), ('face', 'ui'), ('app', ''), ('top', x)."""
    parts = module.split(".")[1:]
    if not parts:
        return "top", ""
    head = parts[0]
    if head == "core":
        return "core", ""
    if head == "sources":
        return "source", parts[1] if len(parts) > 1 else ""
    if head in FACES:
        return "face", head
    if head == "app":
        return "app", ""
    return "top", head


def broken_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports that point up or sideways across faces, as 'a -> b (why)'."""
    broken = []
    for module, targets in sorted(graph.items()):
        kind, part = layer(module)
        for target in sorted(targets):
            tkind, tpart = layer(target)
            why = None
            if tkind == "app" and kind != "top":
                why = "only the package's entry may import the start-up module"
            elif kind == "core" and tkind in ("source", "face"):
                why = f"core imports a {tkind}"
            elif kind == "source" and tkind == "face":
                why = "a source imports a face"
            elif kind == "face" and tkind == "face" and tpart != part:
                why = "a face imports another face"
            elif (kind in ("core", "source", "face") and tkind == "top"
                  and tpart not in ("settings", "")):
                why = f"imports the top-level module {target}"
            if why:
                broken.append(f"{module} -> {target} ({why})")
    return broken


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def strongconnect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                strongconnect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return sorted(groups)


def test_arrows_point_down():
    broken = broken_arrows(import_graph())
    assert not broken, "imports against the house plan:\n" + "\n".join(broken)


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_top_level_holds_only_the_entry_points():
    top = {p.stem for p in ROOT.glob("*.py")}
    assert top <= TOP_LEVEL_ALLOWED, f"move these into a package: {sorted(top - TOP_LEVEL_ALLOWED)}"


def test_modules_stay_small():
    long = {module_name(p): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines, to split: {long}"


def test_no_face_names_a_kind_of_storage_target_or_a_player_family():
    """Faces offer what `core.targets` and the page source list; adding a kind or a family
    never touches a face."""
    from audiofetch_app.core import targets
    from audiofetch_app.sources.page.players import FAMILY_MODULES

    names = {k for k in targets.KINDS if k != targets.DEFAULT} | set(FAMILY_MODULES)
    found = []
    for face in FACES:
        for path in (ROOT / face).rglob("*.py") if (ROOT / face).is_dir() else []:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in names:
                    found.append(f"{module_name(path)}:{node.lineno} {node.value!r}")
    assert not found, "faces naming a kind: " + ", ".join(found)


def test_the_checker_sees_a_broken_arrow_and_a_circle():
    """The rules above can fail: a made-up graph with one of each kind of fault."""
    graph = {
        f"{PACKAGE}.core.jobs": {f"{PACKAGE}.sources.page.source"},
        f"{PACKAGE}.sources.page.source": {f"{PACKAGE}.web.api"},
        f"{PACKAGE}.web.api": {f"{PACKAGE}.ui.shell"},
        f"{PACKAGE}.ui.shell": {f"{PACKAGE}.core.jobs"},
    }
    assert len(broken_arrows(graph)) == 3
    assert circles(graph) == [sorted(graph)]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     f"    from {PACKAGE}.ui import shell\nfrom . import x\n")
    assert _imports(tree, f"{PACKAGE}.core.jobs", False) == {f"{PACKAGE}.core",
                                                             f"{PACKAGE}.core.x"}


if __name__ == "__main__":
    graph = import_graph()
    broken = broken_arrows(graph)
    found = circles(graph)
    print("\n".join(broken))
    for circle in found:
        print("circle:", " <-> ".join(circle))
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} arrows, "
          f"{len(broken)} against the rules, {len(found)} circles")
