"""Every file, folder and module the documentation names exists.

The README, CONTRIBUTING.md, docs/*.md and the README files under resources/ tell a newcomer
where things live (``core/training/step.py``, ``core.demo.sample_project.build_sample_project``).
A module that moves leaves those words behind; nothing else fails then, so this test reads the
documents and checks each repository path and each ``core.`` / ``gui.`` dotted name against the
tree. Placeholders (``core/commands/<name>.py``, ``docs/images/gui_*.png``) are skipped.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP = ("core", "gui", "docs", "tests", "tools", "bench", "resources", "packaging", ".ci")
#: A repository path: a top-level folder, then path characters; not inside a longer path or URL.
_TOPS = "|".join(re.escape(t) for t in TOP)
PATH = re.compile(r"(?<![\w./-])((?:" + _TOPS + r")/[\w./<>*-]*[\w*>])")
#: A dotted name in our packages, e.g. ``core.formats.detect.sniff``.
DOTTED = re.compile(r"(?<![\w./])((?:core|gui)\.[A-Za-z_][\w.]*\w)")


def documents() -> list[Path]:
    docs = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    return docs + sorted((ROOT / "resources").rglob("README.md"))


@cache
def top_level_names(module_file: Path) -> frozenset[str]:
    """Names a module (or a package's ``__init__``) defines or imports at its top level."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return frozenset(names)


def dotted_problem(name: str) -> str | None:
    """Why ``name`` does not resolve (None when it does): the longest prefix that is a module or
    package, then the next part must be a submodule or a top-level name of it; what follows that
    (a method, an attribute) is not checked."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:k])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if not module.is_file():
            continue
        if k == len(parts) or parts[k] in top_level_names(module):
            return None
        return f"{'.'.join(parts[:k])} has no {parts[k]}"
    return "no such package"


def named_things() -> list[tuple[str, int, str, str]]:
    """``(document, line, kind, text)`` for every path and dotted name the documents name."""
    found = []
    for doc in documents():
        rel = str(doc.relative_to(ROOT))
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            found += [(rel, number, "path", m.group(1).rstrip(".")) for m in PATH.finditer(line)]
            found += [(rel, number, "name", m.group(1)) for m in DOTTED.finditer(line)]
    return found


def test_the_documents_name_paths_and_modules():
    kinds = {kind for _doc, _line, kind, _text in named_things()}
    assert kinds == {"path", "name"}  # the patterns still find what the documents say


def test_every_path_the_documents_name_exists():
    missing = [f"{doc}:{line}: {text}" for doc, line, kind, text in named_things()
               if kind == "path" and not any(c in text for c in "<>*") and not (ROOT / text).exists()]
    assert missing == [], "documents name paths that do not exist:\n" + "\n".join(missing)


def test_every_module_the_documents_name_exists():
    wrong = [f"{doc}:{line}: {text} ({problem})" for doc, line, kind, text in named_things()
             if kind == "name" and (problem := dotted_problem(text))]
    assert wrong == [], "documents name modules or functions that do not exist:\n" + "\n".join(wrong)


def test_a_moved_module_is_caught(tmp_path):
    # The check itself: a name of a module that moved away, and one of a function that never was.
    assert dotted_problem("core.synthetic.sample.build_sample_project") == "core.synthetic has no sample"
    assert dotted_problem("core.demo.sample_project.build_sample_project") is None
    assert dotted_problem("core.demo.sample_project.no_such_function") == \
        "core.demo.sample_project has no no_such_function"
