from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.cli import check_workflows
from api.settings import PLACEHOLDER_SECRETS, Settings

BROKEN = textwrap.dedent(
    """\
    key: broken
    title: 坏的工作流
    basis: "〔default〕"
    initial: draft
    initiator: {role: applicant}
    states:
      - {id: draft, title: 编制中}
      - {id: done, title: 完成, final: true, outcome: approved}
    transitions:
      - id: finish
        title: 完成
        kind: approve
        from: draft
        to: dnoe
        by: {role: city_gov}
        basis: x
    """
)


def test_secret_key_placeholder_is_refused_outside_demo() -> None:
    with pytest.raises(ValidationError, match="GREENLANE_SECRET_KEY"):
        Settings(demo=False)
    with pytest.raises(ValidationError, match="32"):
        Settings(demo=False, secret_key="short-but-not-a-placeholder")
    assert Settings(demo=True).demo
    # the published placeholder never signs demo tokens: each start draws its own key
    assert Settings(demo=True).secret_key not in PLACEHOLDER_SECRETS
    assert Settings(demo=True).secret_key != Settings(demo=True).secret_key
    assert Settings(demo=False, secret_key="x" * 40).secret_key == "x" * 40


def test_check_workflows_prints_file_line_path_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    assert check_workflows([path]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert f"{path}:14: transitions[0].to: 未知状态 'dnoe'" in err


def test_check_workflows_reports_malformed_yaml_and_missing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "malformed.yaml"
    path.write_text("key: x\nstates: [\n  - oops: {\n", encoding="utf-8")
    assert check_workflows([path, tmp_path / "missing.yaml"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:" in err and "YAML 语法错误" in err
    assert "missing.yaml: 无法读取" in err


def test_check_workflows_accepts_the_bundled_ones(capsys: pytest.CaptureFixture[str]) -> None:
    bundled = sorted(Path(__file__).resolve().parent.parent.joinpath("workflows").glob("*.yaml"))
    assert check_workflows(bundled) == 0
    assert capsys.readouterr().out.count(": ok") == len(bundled)
