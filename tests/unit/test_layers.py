"""The layer rules of ARCHITECTURE.md, kept by import-linter ([tool.importlinter] in pyproject).

``make test`` runs ``lint-imports``; these tests keep the contracts themselves honest: a new
top-level module must be placed in them (a contract that lists packages by name would
otherwise let a new one import ``web`` unnoticed), and the contracts hold.
"""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path
from typing import Any

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

import acuhead

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _top_level() -> set[str]:
    return {f"acuhead.{m.name}" for m in pkgutil.iter_modules(acuhead.__path__)}


def test_the_domain_may_import_only_errors_of_ours() -> None:
    contract = _contracts()["domain-pure"]
    allowed = {"acuhead.domain", "acuhead.errors"}
    assert set(contract["forbidden_modules"]) == _top_level() - allowed


def test_every_module_but_cli_and_web_is_kept_from_importing_web() -> None:
    contract = _contracts()["web-is-the-edge"]
    assert set(contract["source_modules"]) == _top_level() - {"acuhead.cli", "acuhead.web"}


def test_store_may_not_import_services_or_web() -> None:
    contract = _contracts()["store-below-services"]
    assert contract["source_modules"] == ["acuhead.store"]
    assert set(contract["forbidden_modules"]) == {"acuhead.services", "acuhead.web"}


def test_the_layer_contracts_hold() -> None:
    assert lint_imports(str(PYPROJECT), no_cache=True, no_logo=True) == EXIT_STATUS_SUCCESS
