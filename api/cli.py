"""The `greenlane` console script: serve, check-workflows."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.errors import SpecInvalid
from engine.loading import load_spec


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="greenlane", description="城市更新绿色通道审批工作流引擎")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="迁移数据库、加载内置工作流并启动服务")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="写入演示机构和账号，并启用演示时钟")
    check = commands.add_parser("check-workflows", help="校验工作流 YAML 文件")
    check.add_argument("files", nargs="+", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        return _serve(arguments.host, arguments.port, arguments.demo)
    return check_workflows(arguments.files)


def check_workflows(paths: Sequence[Path]) -> int:
    """Print `file:line: key.path: message` per problem; 1 if any file has one."""
    failed = False
    for path in paths:
        try:
            load_spec(path.read_text(encoding="utf-8"), str(path))
        except OSError as error:
            sys.stderr.write(f"{path}: 无法读取：{error.strerror}\n")
            failed = True
        except SpecInvalid as error:
            for problem in error.problems:
                sys.stderr.write(problem.render(str(path)) + "\n")
            failed = True
        else:
            sys.stdout.write(f"{path}: ok\n")
    return 1 if failed else 0


def _serve(host: str, port: int, demo: bool) -> int:
    import uvicorn

    if demo:
        os.environ["GREENLANE_DEMO"] = "true"
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
