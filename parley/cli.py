"""The `parley` command."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from inference_server.protocol import MAX_SPEAKERS

from .settings import process_settings

app = typer.Typer(help="Parley: a self-hosted voice AI room.", no_args_is_help=True,
                  pretty_exceptions_enable=False, context_settings={"help_option_names": ["-h", "--help"]})
err = Console(stderr=True, soft_wrap=True)  # one error = one line, whatever the width


def _mount_models() -> None:
    from .cli_models import models_app

    app.add_typer(models_app, name="models", help="Prepare and inspect the model catalog.")


def _mount_rooms() -> None:
    from .cli_bench import bench_app
    from .cli_services import agent, api
    from .cli_up import up

    app.command("up")(up)
    app.command("api")(api)
    app.command("agent")(agent)
    app.add_typer(bench_app, name="bench", help="Benchmarks of a running or embedded Parley.")


_mount_models()
_mount_rooms()


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


@app.command()
def config() -> None:
    """Print the effective settings (from PARLEY_* variables), secrets masked."""
    typer.echo(json.dumps(process_settings().masked(), indent=2, default=str))


@app.command()
def inference(host: str = typer.Option(None, help="Bind address (default PARLEY_INFERENCE_HOST, 127.0.0.1)."),
              port: int = typer.Option(None, help="Port (default PARLEY_INFERENCE_PORT, 8001).")) -> None:
    """Run the shared inference server (every model preloaded)."""
    import uvicorn

    from inference_server.app import create_app

    from .logs import setup_logging

    settings = process_settings()
    if host:
        settings.inference_host = host
    if port:
        settings.inference_port = port
    setup_logging(settings)
    uvicorn.run(create_app(settings), host=settings.inference_host, port=settings.inference_port,
                log_level=settings.log_level.lower(), ws_max_size=2**22)


class TranscriptFormat(str, Enum):
    json = "json"
    srt = "srt"
    vtt = "vtt"
    txt = "txt"


@app.command()
def transcribe(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
               format: TranscriptFormat = typer.Option(TranscriptFormat.json, "--format", "-f"),
               url: str = typer.Option(None, help="Use a running inference server instead of loading models here."),
               token: str = typer.Option(None, envvar="PARLEY_INFERENCE_TOKEN", help="Its bearer token."),
               reference: Path = typer.Option(None, "--reference", exists=True, dir_okay=False, readable=True,
                                              help="Score against who spoke when (.rttm) or who said what when "
                                                   "(.stm): DER (no collar), WER, segments, on stderr."),
               speakers: int = typer.Option(None, "--speakers", min=1, max=MAX_SPEAKERS,
                                            help="How many people speak, when you know; "
                                                 "otherwise found from the voices.")) -> None:
    """Transcribe an audio file with speaker labels and emotions."""
    from inference_server.formats import to_srt, to_text, to_vtt

    scored_against = _read_reference(reference) if reference else None
    transcript = asyncio.run(_remote_transcribe(file, url, token, speakers) if url
                             else _local_transcribe(file, speakers))
    render = {"json": lambda t: t.model_dump_json(indent=2), "srt": to_srt, "vtt": to_vtt, "txt": to_text}
    sys.stdout.write(render[format.value](transcript).rstrip("\n") + "\n")
    if scored_against is not None:
        from bench.reference import describe, score

        err.print(f"against {reference.name}: {describe(score(scored_against, transcript.segments))}",
                  highlight=False)


def _read_reference(path: Path):
    from bench.reference import ReferenceError, read_reference

    try:
        return read_reference(path)
    except (ReferenceError, OSError) as exc:
        fail(str(exc))


async def _remote_transcribe(file: Path, url: str, token: str | None, speakers: int | None):
    from inference_server.client import InferenceClient, InferenceError

    try:
        async with InferenceClient(url, token=token, timeout=3600) as client:
            with err.status(f"transcribing {file.name} on {url}"):
                return await client.transcribe(file, speakers=speakers)
    except InferenceError as exc:
        fail(str(exc))


async def _local_transcribe(file: Path, speakers: int | None):
    from rich.progress import Progress

    from inference_server.audio import AudioError, decode_audio
    from inference_server.catalog import ModelError
    from inference_server.engine import Engine
    from inference_server.loader import load_models
    from inference_server.scheduler import Scheduler
    from inference_server.transcribe import transcribe_audio

    from .logs import setup_logging

    settings = process_settings()
    setup_logging(settings, console=False)
    try:
        audio = decode_audio(file.read_bytes())
    except AudioError as exc:
        fail(f"{file}: {exc}")
    try:
        with err.status("loading models"):
            models, _, _ = await asyncio.to_thread(load_models, settings)
    except ModelError as exc:
        fail(str(exc))
    scheduler = Scheduler()
    scheduler.start()
    try:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task(f"transcribing {file.name}", total=None)
            return await transcribe_audio(Engine(models, scheduler), settings, audio, speakers=speakers,
                                          progress=lambda done, total: progress.update(task, completed=done,
                                                                                       total=total))
    finally:
        scheduler.stop()
        models.close()


def main() -> None:
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:  # PARLEY_* settings: one line per problem, no traceback
        problems = "; ".join(
            (f"PARLEY_{str(error['loc'][0]).upper()}: " if error["loc"] else "") + error["msg"].removeprefix("Value error, ")
            for error in exc.errors())
        err.print(f"[red]error:[/red] invalid settings: {problems}", highlight=False)
        sys.exit(2)
