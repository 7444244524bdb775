"""The import direction is enforced: `lint-imports` runs the contracts of pyproject.toml
(sources -> monitor core -> alerts, and a leaf values module that imports nothing of the project)."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import monitor

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(script), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )


def test_import_contracts_are_kept() -> None:
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_leaf_contract_names_every_other_monitor_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    leaf = next(c for c in config["contracts"] if c["source_modules"] == ["monitor.values"])
    listed = set(leaf["forbidden_modules"])
    present = {
        f"monitor.{m.name}" for m in pkgutil.iter_modules(monitor.__path__) if m.name != "values"
    }
    assert present - listed == set(), "add these to the leaf contract in pyproject.toml"
