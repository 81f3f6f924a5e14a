"""The package's shape: no import cycle, and each package imports only what its docstring allows."""

from __future__ import annotations

import ast
from pathlib import Path

import translator

ROOT = Path(translator.__file__).parent

# package -> the packages (or modules) it may import; see each package's __init__ docstring
MAY_IMPORT = {
    "errors": set(),
    "limits": {"errors"},
    "pool": set(),
    "io": {"errors", "limits"},
    "model": {"errors", "limits", "io"},
    "frontends": {"errors", "limits", "io", "model"},
    "compiler": {"errors", "limits", "io", "model"},
    "evaluate": {"errors", "model.ruleset", "model.inventory"},
    "verify": {"errors", "limits", "io", "model", "evaluate", "compiler", "frontends.common", "targets"},
    "targets": {
        "errors",
        "limits",
        "io",
        "model",
        "compiler",
        "evaluate",
        "verify.source",
        "verify.selectors",
        "reverse.table",
    },
    "reverse": {"errors", "io", "model", "evaluate", "compiler.ipblocks", "compiler.universe", "frontends"},
    "lint": {"errors", "io", "model", "compiler", "pool"},
    "batch": {"errors", "limits", "pool", "io", "model", "frontends", "compiler", "lint", "targets"},
    "views": {"errors", "io", "model", "evaluate", "verify", "targets", "frontends"},
    "cli": {
        "errors",
        "limits",
        "io",
        "model",
        "frontends",
        "compiler",
        "evaluate",
        "verify",
        "reverse",
        "lint",
        "batch",
        "targets",
        "views",
    },
}


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that NAME imports (anywhere in the file), as dotted names below translator."""
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    pkg = [x for x in pkg if x]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("translator"):
                target = node.module.split(".")[1:]
            else:
                continue
            t = ".".join(target)
            for alias in node.names:
                sub = f"{t}.{alias.name}" if t else alias.name
                out.add(sub if sub in known else t)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("translator."):
                    out.add(alias.name.split(".", 1)[1])
    return {m for m in out if m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {n: imports(n, p, set(mods)) for n, p in mods.items()}


def test_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if m not in g:
                continue
            if state.get(m) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(m) :] + [m]))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)


def _allowed(target: str, rules: set[str]) -> bool:
    return any(target == r or target.startswith(r + ".") for r in rules)


def test_each_package_imports_only_what_it_may():
    bad = []
    for name, deps in graph().items():
        if not name:
            continue
        top = name.split(".")[0]
        for d in sorted(deps):
            if d == "" or d.split(".")[0] == top:
                continue
            if not _allowed(d, MAY_IMPORT[top]):
                bad.append(f"{name} imports {d}")
    assert not bad, "\n".join(bad)


def test_every_package_says_what_it_holds_and_may_import():
    for name, path in modules().items():
        if path.name == "__init__.py" and name:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert doc, f"{name}: no docstring"
            if name in MAY_IMPORT:
                assert "import" in doc.lower(), f"{name}: the docstring does not say what it may import"
