"""The `komawari` command: one Typer app; each domain adds its own commands."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import typer

from komawari.cli import support
from komawari.cli.support import OneLineErrors

app = typer.Typer(
    name="komawari",
    help="Komawari schedules recurring lessons for multi-branch schools, without duplicates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an unexpected error."
    ),
) -> None:
    support.set_debug(debug)


def _plain_help(typer_app: typer.Typer) -> None:
    # Click's plain help: Rich's panels label every flag `<bool>`.
    typer_app.rich_markup_mode = None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


def _register() -> None:
    from komawari.attendance.cli import app as credits_app
    from komawari.audit.cli import app as audit_app
    from komawari.auth.cli import app as token_app
    from komawari.auth.user_cli import app as user_app
    from komawari.branches.cli import app as branch_app
    from komawari.cli.db import app as db_app
    from komawari.generation.cli import generate
    from komawari.notices.cli import app as notices_app
    from komawari.notices.cli import worker
    from komawari.ops.cli import register as register_ops
    from komawari.ops.demo import demo
    from komawari.people.cli import room_app, student_app, teacher_app
    from komawari.series.cli import app as series_app
    from komawari.sessions.cli import app as session_app
    from komawari.web.cli import serve

    app.add_typer(db_app, name="db")
    app.add_typer(branch_app, name="branch")
    app.add_typer(teacher_app, name="teacher")
    app.add_typer(student_app, name="student")
    app.add_typer(room_app, name="room")
    app.add_typer(series_app, name="series")
    app.add_typer(session_app, name="session")
    app.add_typer(audit_app, name="audit")
    app.add_typer(credits_app, name="credits")
    app.add_typer(token_app, name="token")
    app.add_typer(user_app, name="user")
    app.add_typer(notices_app, name="notices")
    app.command(help="Materialise the occurrences of ACTIVE series up to the horizon.")(generate)
    app.command(help="Create a demo school (2 branches) and print the coming week.")(demo)
    app.command(help="Run the HTTP server (API, calendar feeds, pages, and a job worker).")(serve)
    app.command(help="Run a job worker: periodic work and the notices' outbox.")(worker)
    _register_plugins()
    register_ops(app)
    _plain_help(app)


# Commands that other installed packages add (`komawari soak`, from tools/soak): each entry
# point of this group names a function that takes the app and adds its commands to it.
PLUGIN_GROUP = "komawari.commands"


def _register_plugins() -> None:
    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            entry.load()(app)
        except Exception as exc:  # a broken add-on must not take the product's commands down
            print(
                f"komawari: skipped the commands of {entry.name!r} ({entry.value}): {exc}",
                file=sys.stderr,
            )


_register()


def main() -> None:
    """Entry point of the `komawari` command."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
