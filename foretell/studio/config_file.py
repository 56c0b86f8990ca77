"""The project's ``foretell.toml``, edited from the page: checked as ``foretell run`` checks it.

``ConfigFile.replace(text)`` writes the new text beside the config as a hidden file, reads that
with the very function ``foretell run --config`` reads with (``read_run_config``), and only when
it is valid moves it over ``foretell.toml`` (one rename: a reader sees the old file or the new,
never half of one). An invalid text is one ``StudioError`` line, with the file's own name in it,
and nothing is written. ``live_changes`` says which differences the running engine can take now
(the live settings, the mode, the model) as engine commands; all others wait for the next start.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from foretell import commands as control
from foretell.config import RunConfig
from foretell.errors import ForetellError
from foretell.impsy.config import read_run_config
from foretell.perform.build import config_value
from foretell.settings import SETTINGS
from foretell.studio.errors import StudioError

MAX_CONFIG = 256 << 10  # bytes of TOML


@dataclass(frozen=True)
class ConfigFile:
    path: Path

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def read(self) -> RunConfig:
        return read_run_config(self.path).config

    def replace(self, text: str) -> RunConfig:
        """Check ``text`` as a run config and, if valid, make it the file; the new config."""
        if len(text.encode("utf-8")) > MAX_CONFIG:
            raise StudioError(f"a config is at most {MAX_CONFIG >> 10} KB", 413)
        handle, name = tempfile.mkstemp(prefix=".foretell-", suffix=".toml", dir=self.path.parent)
        staged = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            config = self._checked(staged)
            staged.replace(self.path)
        finally:
            staged.unlink(missing_ok=True)
        return config

    def _checked(self, staged: Path) -> RunConfig:
        try:
            read = read_run_config(staged)
        except ForetellError as exc:
            message = str(exc).replace(str(staged), self.path.name).replace(staged.name, "")
            raise StudioError(message.replace(f"{self.path.name}: ", "", 1).strip()) from None
        model = read.config.model.file
        if model is not None and read.import_source is None and not model.is_file():
            raise StudioError(f"model.file {model} does not exist")
        return read.config


def live_changes(old: RunConfig, new: RunConfig) -> tuple[list[control.Command], list[str]]:
    """The commands that bring a running engine from ``old`` to ``new``, and the keys
    (``section.key``) that differ but only take effect on the next start."""
    commands: list[control.Command] = []
    live_keys = {setting.config_key for setting in SETTINGS} | {"interaction.mode", "model.file"}
    for setting in SETTINGS:
        value = config_value(new, setting.config_key)
        if value != config_value(old, setting.config_key):
            commands.append(control.SetSetting(setting.verb, value))
    if new.interaction.mode != old.interaction.mode:
        commands.append(control.SetMode(new.interaction.mode))
    later = [key for key in _differences(old, new) if key not in live_keys]
    model = new.model.file
    if model != old.model.file:
        folder = old.models_dir().resolve()
        if model is not None and model.resolve().is_relative_to(folder):
            commands.append(control.LoadModel(model.resolve().relative_to(folder).as_posix()))
        else:  # no model, or one outside the folder the running engine loads from
            later.append("model.file")
    return commands, later


def _differences(old: RunConfig, new: RunConfig) -> list[str]:
    """``section.key`` of every top-level setting that differs (sections that are lists whole)."""
    keys = []
    for section in dataclasses.fields(RunConfig):
        before, after = getattr(old, section.name), getattr(new, section.name)
        if before == after:
            continue
        if not dataclasses.is_dataclass(before) or not dataclasses.is_dataclass(after):
            keys.append(section.name)
            continue
        for item in dataclasses.fields(before):
            if getattr(before, item.name) != getattr(after, item.name):
                keys.append(f"{section.name}.{item.name}")
    return keys
