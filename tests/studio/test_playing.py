"""What Perform plays, written into foretell.toml: the edit keeps the file's other lines, is
checked as a start checks it, and refuses what it cannot edit without writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from foretell.cli.run_commands import build_config
from foretell.config import RunConfig, override
from foretell.model.random import random_model_file
from foretell.project.layout import init_project
from foretell.studio.config_file import ConfigFile
from foretell.studio.errors import StudioError
from foretell.studio.playing import perform_mode, remember, set_key


def test_a_fresh_projects_file_comes_back_playing_what_was_remembered(tmp_path: Path) -> None:
    project = init_project(tmp_path / "pad", 3)
    model = random_model_file(project.folder("models") / "m1.ftm", dimension=3, units=16)
    before = project.config.read_text()
    remember(ConfigFile(project.config), model, "filter")
    after = project.config.read_text()
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert [line.split("#")[0].strip() for line in changed] == [
        'file = "models/m1.ftm"',
        'mode = "filter"',
    ]
    assert not [p for p in project.root.iterdir() if p.name.startswith(".foretell-")]
    started = build_config(project.config)  # what foretell run --config / studio start with
    assert started.model.file == model.resolve() and started.interaction.mode == "filter"


def test_a_key_is_replaced_uncommented_added_or_its_section_appended() -> None:
    text = '[model]\nfile = "a.ftm"  # mine\n\n[log]\ndir = "logs"\n'
    assert set_key(text, "model", "file", '"b.ftm"').splitlines()[1].startswith('file = "b.ftm"')
    assert "# mine" in set_key(text, "model", "file", '"b.ftm"')
    added = set_key(text, "interaction", "mode", '"filter"')
    assert added.endswith('[interaction]\nmode = "filter"\n') and added.startswith(text)
    under = set_key("[interaction]\nthreshold = 0.2\n", "interaction", "mode", '"battle"')
    assert under == '[interaction]\nmode = "battle"\nthreshold = 0.2\n'
    other = set_key('[model]\n# file = "x"\n[osc]\nfile = 3\n', "osc", "file", "4")
    assert other == '[model]\n# file = "x"\n[osc]\nfile = 4\n'


def test_a_file_the_edit_cannot_reach_is_left_as_it_is(tmp_path: Path) -> None:
    project = init_project(tmp_path / "pad", 3)
    model = random_model_file(project.folder("models") / "m1.ftm", dimension=3, units=16)
    text = project.config.read_text()
    section = text[text.index("[interaction]") : text.index("[osc]")]
    inline = 'interaction = { mode = "callresponse", dimension = 3 }\n'
    project.config.write_text(inline + text.replace(section, ""))  # valid, but not editable here
    assert build_config(project.config).interaction.dimension == 3
    before = project.config.read_bytes()
    with pytest.raises(StudioError) as refused:
        remember(ConfigFile(project.config), model, "filter")
    assert "nothing was written" in str(refused.value) and "\n" not in str(refused.value)
    assert project.config.read_bytes() == before


def test_perform_plays_the_configured_mode_when_the_model_plays_in_it() -> None:
    assert perform_mode(RunConfig()) == "callresponse"
    for mode in ("filter", "battle", "callresponse"):
        assert perform_mode(override(RunConfig(), "interaction", mode=mode)) == mode
    for silent in ("useronly", "listen"):  # the model does not play in these
        assert perform_mode(override(RunConfig(), "interaction", mode=silent)) == "callresponse"
