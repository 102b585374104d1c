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
    calendar = commands.add_parser("calendar", help="工作日历")
    calendar_commands = calendar.add_subparsers(dest="calendar_command", required=True)
    calendar_import = calendar_commands.add_parser("import", help="录入某年国务院节假日安排（YAML 文件）")
    calendar_import.add_argument("file", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "serve":
        return _serve(arguments.host, arguments.port, arguments.demo)
    if arguments.command == "calendar":
        return import_calendar(arguments.file)
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


def import_calendar(path: Path) -> int:
    """Enter a year's holiday notice into the database named by GREENLANE_DATABASE_URL."""
    from ruamel.yaml import YAML

    from api.db.database import Database
    from api.db.migrate import upgrade_to_head
    from api.services import calendar
    from api.services.context import Context
    from api.settings import get_settings
    from engine.clock import SystemClock
    from engine.errors import GreenlaneError
    from engine.runner import Actor

    settings = get_settings()
    upgrade_to_head(settings.database_url)
    context = Context(db=Database(settings.database_url), clock=SystemClock(), settings=settings)
    operator = Actor(0, "cli", frozenset({"admin"}), "system", None)
    try:
        notice = calendar.parse_notice(YAML(typ="safe").load(path.read_text(encoding="utf-8")))
        result = calendar.import_year(context, operator, notice)
    except (OSError, GreenlaneError) as error:
        sys.stderr.write(f"{path}: {getattr(error, 'detail', error)}\n")
        return 1
    finally:
        context.db.dispose()
    sys.stdout.write(
        f"{path}: {result['year']} 年已录入，节假日 {result['holidays']} 天，调休上班 {result['workdays']} 天\n"
    )
    return 0


def _serve(host: str, port: int, demo: bool) -> int:
    import uvicorn

    if demo:
        os.environ["GREENLANE_DEMO"] = "true"
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
