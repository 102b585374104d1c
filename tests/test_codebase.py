"""The standing promises of the codebase: lint, format, types, layering, README and CI agree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from engine import errors

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"fastapi", "starlette", "sqlmodel", "sqlalchemy", "httpx", "jinja2", "api", "web", "psycopg", "uvicorn"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.partition(".")[0])
    return roots


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("engine", FRAMEWORKS), ("api/services", {"fastapi", "starlette", "web"})],
)
def test_layers_import_inward_only(package: str, forbidden: set[str]) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ not found: this test would pass without checking anything"
    for path in files:
        leaked = _imported_roots(path) & forbidden
        assert not leaked, f"{path.relative_to(ROOT)} imports {sorted(leaked)}"


def test_every_error_has_a_unique_code_a_chinese_message_and_a_status() -> None:
    from api.problems import status_of

    kinds = [errors.GreenlaneError, *_subclasses(errors.GreenlaneError)]
    codes = [kind.code for kind in kinds]
    assert len(codes) == len(set(codes)), codes
    for kind in kinds[1:]:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in kind.message_zh), kind
        instance = kind.__new__(kind)
        assert status_of(instance) < 500, kind


def _subclasses(kind: type) -> list[type[errors.GreenlaneError]]:
    found = []
    for sub in kind.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _run(*command: str) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint_and_format() -> None:
    _run(sys.executable, "-m", "ruff", "check", ".")
    _run(sys.executable, "-m", "ruff", "format", "--check", ".")


def test_mypy_strict_engine_and_api() -> None:
    _run(sys.executable, "-m", "mypy", "--strict", "engine")
    _run(sys.executable, "-m", "mypy", "api", "web")


def test_readme_gives_the_ci_test_command() -> None:
    last_line = (ROOT / ".ci/run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert last_line in (ROOT / "README.md").read_text(encoding="utf-8")


def test_bundled_workflows_pass_check_workflows() -> None:
    files = sorted(str(path) for path in (ROOT / "workflows").glob("*.yaml"))
    assert len(files) >= 2
    _run(sys.executable, "-m", "api.cli", "check-workflows", *files)
