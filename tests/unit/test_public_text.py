"""Text the app shows names no file: CLINICAL.md and the other design notes live outside the
repository, so their section numbers stay in comments and docstrings (where the next engineer
reads them), never in a string a page, a report, a letter or an answer could carry.

Every string literal of ``src/acuhead`` that is not a docstring is checked, and every template.
One exception: a published benchmark's ``section`` is its trace to the clinical notes, carried
in the API's JSON as ``source_section`` and shown on no page (admin/report.html, the practice
report); ``test_outcomes.py`` checks that every benchmark has one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import acuhead

SRC = Path(acuhead.__file__).resolve().parent
FILE_NAME = re.compile(r"\b[\w.-]+\.md\b")


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _traces(tree: ast.AST) -> set[int]:
    """Values of ``section=`` keywords (the benchmarks' trace, see the module docstring)."""
    return {
        id(kw.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "section"
    }


def _named_files(source: str) -> Iterator[tuple[int, str]]:
    tree = ast.parse(source)
    allowed = _docstrings(tree) | _traces(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in allowed
            and FILE_NAME.search(node.value)
        ):
            yield node.lineno, node.value


def test_the_checker_finds_a_file_name_in_a_string_but_not_in_a_docstring() -> None:
    source = (
        '"""Module notes (CLINICAL.md 2)."""\n'
        "def f() -> str:\n"
        '    """Why (CLINICAL.md 3)."""\n'
        '    return "shown to the user (CLINICAL.md 7.3)"  # CLINICAL.md 7.3\n'
        'B = Benchmark(section="CLINICAL.md 5.1")\n'
    )
    assert [line for line, _ in _named_files(source)] == [4]


def test_no_string_the_app_can_show_names_a_file() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}: {text[:80]!r}"
        for path in sorted(SRC.rglob("*.py"))
        if "migrations" not in path.parts
        for line, text in _named_files(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_no_template_names_a_file() -> None:
    found = [
        f"{path.relative_to(SRC)}: {match.group(0)}"
        for path in sorted((SRC / "web" / "templates").rglob("*.html"))
        for match in FILE_NAME.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
