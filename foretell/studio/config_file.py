"""The project's ``foretell.toml``, edited from the page: checked as ``foretell run`` checks it.

``ConfigFile.replace(text)`` writes the new text beside the config as a hidden file, reads that
with the very function ``foretell run --config`` reads with (``read_run_config``), checks what
``foretell studio`` checks as it starts (one instrument, not an ensemble; the model file there and
of the project's dimension; its folders inside the project; the ports it listens on free), and
only when all that holds moves it over ``foretell.toml`` (one rename: a reader sees the old file
or the new, never half of one; a file broken by hand is replaced the same way). An invalid text
is one ``StudioError`` line naming files by their names, never their paths, and nothing is
written; a full disk is a 507. ``live_changes`` says which differences the running engine can
take now (the live settings, the mode, the model) as engine commands; all others wait for the
next start.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from foretell import commands as control
from foretell.config import RunConfig
from foretell.errors import ForetellError
from foretell.impsy.config import read_run_config
from foretell.perform.build import config_value
from foretell.settings import SETTINGS
from foretell.studio.errors import StudioError, written

MAX_CONFIG = 256 << 10  # bytes of TOML


@dataclass(frozen=True)
class ConfigFile:
    path: Path

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def read(self) -> RunConfig | None:
        """The config the file holds now; None if it cannot be read (broken by hand)."""
        try:
            return read_run_config(self.path).config
        except (ForetellError, OSError, RecursionError, ValueError):
            return None

    def replace(self, text: str, running: RunConfig | None = None) -> RunConfig:
        """Check ``text`` as a run config and, if valid, make it the file; the new config.
        ``running``: the config the engine runs now (its ports are its own, not taken)."""
        if len(text.encode("utf-8")) > MAX_CONFIG:
            raise StudioError(f"a config is at most {MAX_CONFIG >> 10} KB", 413)
        with written("the config"):
            handle, name = tempfile.mkstemp(
                prefix=".foretell-", suffix=".toml", dir=self.path.parent
            )
        staged = Path(name)
        try:
            with written("the config"), os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            config = self._checked(staged, running)
            with written("the config"):
                staged.replace(self.path)
        finally:
            staged.unlink(missing_ok=True)
        return config

    def _checked(self, staged: Path, running: RunConfig | None) -> RunConfig:
        try:
            read = read_run_config(staged)
        except ForetellError as exc:
            message = str(exc).replace(str(staged), self.path.name).replace(staged.name, "")
            raise StudioError(self._named(message.replace(f"{self.path.name}: ", "", 1))) from None
        except RecursionError:
            raise StudioError("the config is nested too deeply to be a run config") from None
        config = read.config
        if config.instrument:
            raise StudioError(
                "foretell studio plays one instrument; this config has an ensemble "
                "([instrument.NAME]): run it with foretell run --config"
            )
        self._inside(config)
        model = config.model.file
        if model is not None and read.import_source is None:
            if not model.is_file():
                raise StudioError(f"model.file {model.name} does not exist")
            self._same_dimension(model, config, running)
        _ports_free(config, running)
        return config

    def _named(self, message: str) -> str:
        """``message`` with the project's folder left out of every path (names, not paths)."""
        root = str(self.path.parent.resolve())
        return message.replace(root + os.sep, "").replace(root, ".").strip().splitlines()[0]

    def _inside(self, config: RunConfig) -> None:
        """The model, its folder and the logs' folder lie inside the project."""
        root = self.path.parent.resolve()
        for key, path in (
            ("model.file", config.model.file),
            ("model.dir", config.model.dir),
            ("log.dir", config.log.dir),
        ):
            if path is not None and not path.resolve().is_relative_to(root):
                raise StudioError(
                    f"{key} must lie inside the project, not {path.name!r} outside it"
                )

    def _same_dimension(self, model: Path, config: RunConfig, running: RunConfig | None) -> None:
        from foretell.model.fileformat import read_metadata

        try:
            architecture = read_metadata(model).get("architecture")
            theirs = architecture.get("dimension") if isinstance(architecture, dict) else None
        except ForetellError as exc:
            raise StudioError(self._named(f"model.file {model.name}: {exc}")) from None
        ours = config.interaction.dimension
        if ours is None and running is not None:
            ours = running.interaction.dimension
        if ours is not None and theirs != ours:
            raise StudioError(
                f"model.file {model.name} has dimension {theirs}; this project's instrument has "
                f"{ours} ({ours - 1} controls)"
            )


def _listening(config: RunConfig) -> list[tuple[str, str, int, socket.SocketKind]]:
    """Where a run of ``config`` listens: (key, host, port, kind)."""
    found = [("osc.listen_port", config.osc.listen_host, config.osc.listen_port, socket.SOCK_DGRAM)]
    ws = config.websocket
    if ws.port is not None:
        found.append(("websocket.port", ws.host, ws.port, socket.SOCK_STREAM))
    return found


def _ports_free(config: RunConfig, running: RunConfig | None) -> None:
    """The ports the next start listens on are free (those the running engine holds excepted)."""
    wanted = _listening(config)
    held = set() if running is None else {(h, p, k) for _, h, p, k in _listening(running)}
    for key, host, port, kind in wanted:
        if port == 0 or (host, port, kind) in held:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            with socket.socket(family, kind) as probe:
                probe.bind((host, port))
        except OSError as exc:
            raise StudioError(
                f"{key} {port} on {host} cannot be used ({(exc.strerror or str(exc)).lower()})"
            ) from None


def live_changes(old: RunConfig | None, new: RunConfig) -> tuple[list[control.Command], list[str]]:
    """The commands that bring a running engine from ``old`` to ``new``, and the keys
    (``section.key``) that differ but only take effect on the next start. Without ``old`` (the
    file was broken) every live setting of ``new`` is sent and nothing else is known."""
    commands: list[control.Command] = []
    if old is None:
        for setting in SETTINGS:
            commands.append(control.SetSetting(setting.verb, config_value(new, setting.config_key)))
        return [*commands, control.SetMode(new.interaction.mode)], []
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
