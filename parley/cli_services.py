"""`parley api` and `parley agent`: the parts of Parley run one process each (production layout)."""

from __future__ import annotations

import typer

from .logs import setup_logging
from .process_needs import missing_settings, needs_for
from .settings import process_settings


def api(host: str = typer.Option(None, help="Bind address (default PARLEY_HOST, 127.0.0.1)."),
        port: int = typer.Option(None, help="Port (default PARLEY_PORT, 8000).")) -> None:
    """Run the API and page alone, using the inference server at PARLEY_INFERENCE_URL."""
    import uvicorn

    from parley.compose import create_embedded_app

    settings = process_settings()
    settings.host = host or settings.host
    settings.port = port or settings.port
    setup_logging(settings)
    uvicorn.run(create_embedded_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level.lower(), log_config=None)


def agent(livekit: bool = typer.Option(False, "--livekit", help="Run a livekit-agents worker that LiveKit "
                                                                  "dispatches to rooms (PARLEY_LIVEKIT_*).")) -> None:
    """Run room agents. Embedded rooms' agents live in `parley api`/`parley up`; this runs LiveKit workers."""
    settings = process_settings()
    if not livekit:
        typer.echo("error: embedded rooms are served with their agents by `parley api` or `parley up`; "
                   "use `parley agent --livekit` for LiveKit workers", err=True)
        raise typer.Exit(1)
    needs = needs_for(["agent", "--livekit"])
    if missing := missing_settings(settings, needs):
        typer.echo(f"error: set {', '.join(missing)}: {needs.why}", err=True)
        raise typer.Exit(1)
    setup_logging(settings)
    from agent.livekit.worker import serve

    serve(settings)
