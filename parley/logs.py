"""Logging set-up shared by every `parley` command: console plus a file under the data dir."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from .settings import Settings


def setup_logging(settings: Settings, *, console: bool = True) -> None:
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [RotatingFileHandler(logs / "parley.log", maxBytes=10 * 2**20, backupCount=3)]
    if console:
        handlers.append(logging.StreamHandler())
    logging.basicConfig(level=settings.log_level.upper(), handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in filter(None, (part.strip() for part in settings.debug_loggers.split(","))):
        logging.getLogger(name).setLevel(logging.DEBUG)
