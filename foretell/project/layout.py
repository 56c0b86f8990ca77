"""``foretell init DIR``: a project folder for one instrument, ready to play into.

::

    DIR/
      foretell.toml   the run config, its defaults written out and commented
      logs/           every performance, IMPSY's log format (the config's [log] dir)
      datasets/       datasets built from the logs (foretell dataset logs -o datasets/NAME.npz)
      models/         trained models (the config's [model] dir: `load NAME` finds them here)

``foretell studio DIR`` serves the project in a browser (record, train, perform); ``foretell run
--config DIR/foretell.toml`` plays it headless. The config names no model yet: both log the
performer (mode ``useronly``) until one is trained, and the studio's Perform writes the model it
plays (and its mode) into the config. Nothing is overwritten: a folder that already holds a
``foretell.toml`` is refused, and folders that exist are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from foretell.config import MAX_DIMENSION, RunConfig
from foretell.errors import ConfigError
from foretell.settings import BY_VERB

CONFIG_NAME = "foretell.toml"
FOLDERS = ("logs", "datasets", "models")


@dataclass(frozen=True)
class Project:
    """Where a project's parts live."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    def folder(self, name: str) -> Path:
        return self.root / name


def _line(setting: str, comment: str) -> str:
    return f"{setting:<30} # {comment}"


def _live(verb: str, comment: str) -> str:
    """A live setting's key at its default, ``comment`` given its range as ``{range}``."""
    setting = BY_VERB[verb]
    return _line(f"{setting.key} = {setting.default}", comment.format(range=setting.describe()))


def config_text(dimension: int) -> str:
    """The project's ``foretell.toml``: the settings a musician changes first, commented."""
    defaults = RunConfig()
    i, o = defaults.interaction, defaults.osc
    lines = [
        "# foretell project config: `foretell run --config foretell.toml` (relative paths are",
        "# this folder's). Every key is optional; these are the defaults (docs/performance.md).",
        "",
        "[model]",
        _line('dir = "models"', "trained models; `load NAME` (/foretell/load) finds them here"),
        _line('# file = "models/NAME.ftm"', "the model to play (none yet: logging only)"),
        _live("pitemp", "π-temperature ({range}): 0 the likeliest component"),
        _live("sigmatemp", "σ-temperature ({range}): 0 each component's mean"),
        "",
        "[interaction]",
        _line(f"dimension = {dimension}", "1 + the number of controls your instrument sends"),
        _line(f'mode = "{i.mode}"', "listen | filter | callresponse | battle | useronly"),
        _live("threshold", "seconds of your silence before the model answers"),
        _live("timescale", "multiplies the model's intervals ({range})"),
        "",
        "[osc]",
        _line(f"listen_port = {o.listen_port}", f"send your controls here, to {o.input_address}"),
        _line(
            f"send_port = {o.send_port}", f"the model plays to 127.0.0.1 here, {o.output_address}"
        ),
        "",
        "[log]",
        _line('dir = "logs"', "every performance, one file each"),
    ]
    return "\n".join(lines) + "\n"


def init_project(root: Path, dimension: int) -> Project:
    """Make the project folder ``root`` for an instrument of ``dimension`` (1 + controls)."""
    if not 2 <= dimension <= MAX_DIMENSION:
        raise ConfigError(
            f"an instrument has 1 to {MAX_DIMENSION - 1} controls (dimension 2..{MAX_DIMENSION}), "
            f"got dimension {dimension}"
        )
    project = Project(root)
    if project.config.exists():
        raise ConfigError(f"{project.config} already exists; nothing was changed")
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} is not a folder")
    for name in FOLDERS:
        project.folder(name).mkdir(parents=True, exist_ok=True)
    with project.config.open("x", encoding="utf-8") as file:  # "x": never over another one
        file.write(config_text(dimension))
    return project


def open_project(root: Path) -> Project:
    """The project folder ``root``; ``ConfigError`` if it holds no ``foretell.toml``."""
    project = Project(root)
    if not project.config.is_file():
        raise ConfigError(
            f"{root} is not a foretell project (it has no {CONFIG_NAME}); "
            f"make one with: foretell init {root}"
        )
    return project
