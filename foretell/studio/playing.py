"""What the project plays, remembered in its ``foretell.toml``: the model Perform loaded and the
mode it plays in, so that the next start (``foretell studio``, ``foretell run --config``, the
systemd unit) comes back playing the same.

``perform_mode(config)`` is the mode Perform plays in when none is asked for: the configured
``[interaction] mode`` when it is one in which the model plays (filter, callresponse, battle),
else call-and-response; ``answering_mode`` refuses a mode in which the model stays silent
(listen, useronly), since Perform is for hearing it. ``remember(file, model, mode)``
sets ``[model] file`` and ``[interaction] mode`` in the file's text, keeping every other line
and comment as it is, and writes it through ``ConfigFile.replace`` (checked as a start checks
it, one rename). A file whose keys are written in a way this edit cannot reach (a dotted key,
an inline table) is left as it is, said in one line.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from foretell.config import RunConfig
from foretell.errors import ForetellError
from foretell.modes import MODES, Mode, get_mode
from foretell.studio.config_file import ConfigFile
from foretell.studio.errors import StudioError

FALLBACK_MODE = "callresponse"


def answers(mode: Mode) -> bool:
    """Whether the model plays in ``mode`` (each input answered, or phrases of its own)."""
    return mode.answer_each_input or mode.generate != "never"


ANSWERING = tuple(name for name, mode in MODES.items() if answers(mode))


def perform_mode(config: RunConfig) -> str:
    """The mode Perform plays in unless told: the configured one if the model plays in it."""
    configured = get_mode(config.interaction.mode)
    return configured.name if answers(configured) else FALLBACK_MODE


def answering_mode(name: object) -> str:
    """The mode called ``name`` if the model plays in it; ``StudioError`` (one line) if not."""
    try:
        mode = get_mode(str(name))
    except ForetellError as exc:
        raise StudioError(str(exc)) from None
    if not answers(mode):
        raise StudioError(
            f"in mode {mode.name} the model does not play; Perform plays in "
            f"{', '.join(ANSWERING)} (set {mode.name} under Config or on the dashboard)"
        )
    return mode.name


def project_perform_mode(file: ConfigFile) -> str:
    """``perform_mode`` of the project's file (call-and-response while the file is one a start
    would refuse: edited by hand)."""
    config = file.read()
    return FALLBACK_MODE if config is None else perform_mode(config)


def remember(file: ConfigFile, model: Path, mode: str) -> RunConfig:
    """Write ``model`` (a file of the project) and ``mode`` into ``file``; the config it now
    holds. ``StudioError`` (and nothing written) if the text cannot be edited to say so."""
    shown = Path(os.path.relpath(model.resolve(), file.path.parent.resolve())).as_posix()
    try:
        text = set_key(file.text(), "model", "file", _string(shown))
        text = set_key(text, "interaction", "mode", _string(mode))
        _check_edit(file, text, shown, mode)
        return file.replace(text, file.read())  # the ports it holds are its own
    except (OSError, UnicodeError) as exc:
        raise StudioError(f"{file.path.name} could not be written ({exc})") from None


def _check_edit(file: ConfigFile, text: str, model: str, mode: str) -> None:
    """``StudioError`` unless ``text`` reads as TOML with ``model`` and ``mode`` set."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudioError(
            f"{file.path.name} could not be edited ({exc}): nothing was written"
        ) from None
    sections = [data.get("model"), data.get("interaction")]
    found = [
        section.get(key) if isinstance(section, dict) else None
        for section, key in zip(sections, ("file", "mode"), strict=True)
    ]
    if found != [model, mode]:
        raise StudioError(
            f"{file.path.name} sets model.file or interaction.mode in a form the studio does not "
            "edit: nothing was written (set them under Config)"
        )


def _string(value: str) -> str:
    """``value`` as a TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(#.*)?$")
ANY_HEADER = re.compile(r"^\s*\[")
REMEMBERED = "# what Perform last played (the studio writes it)"


def set_key(text: str, section: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in ``[section]``: the key's line replaced (its comment
    kept), else a commented-out ``# key = ...`` line taken, else a line added under the header,
    else the section added at the end."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _header(line) == section), None)
    if start is None:
        ending = "" if not lines or lines[-1] == "" else "\n"
        return f"{text}{ending}\n[{section}]\n{key} = {value}\n"
    end = next((i for i in range(start + 1, len(lines)) if ANY_HEADER.match(lines[i])), len(lines))
    setting = re.compile(rf"^(\s*){re.escape(key)}\s*=\s*(\"[^\"]*\"|'[^']*'|[^#\s]+)?\s*(#.*)?$")
    commented = re.compile(rf"^(\s*)#\s*{re.escape(key)}\s*=.*?(\s+#.*)?$")
    for pattern, note in ((setting, None), (commented, REMEMBERED)):
        for i in range(start + 1, end):
            found = pattern.match(lines[i])
            if found:
                indent, comment = found.group(1), note or found.groups()[-1]
                lines[i] = _aligned(f"{indent}{key} = {value}", comment)
                return "\n".join(lines) + "\n"
    lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _header(line: str) -> str | None:
    found = HEADER.match(line)
    return None if found is None else found.group(1)


def _aligned(setting: str, comment: str | None) -> str:
    """``setting`` with its comment, in the column ``foretell init`` writes comments at."""
    if not comment:
        return setting
    return f"{setting:<30} {comment.strip()}"
