"""``foretell init DIR``: a project folder that `foretell run --config` plays into, and that is
never written over."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pythonosc.udp_client import SimpleUDPClient

from foretell.cli import cli
from foretell.config import load_config
from foretell.data.log import read_log
from foretell.errors import ConfigError
from foretell.project.layout import FOLDERS, init_project
from tests.waiting import wait_until


def test_a_project_has_its_folders_and_a_config_that_loads(tmp_path: Path) -> None:
    project = init_project(tmp_path / "pad", dimension=4)
    assert sorted(p.name for p in project.root.iterdir()) == sorted([*FOLDERS, "foretell.toml"])
    config = load_config(project.config)
    assert config.interaction.dimension == 4 and config.model.file is None
    assert config.log.dir == project.folder("logs") and config.models_dir() == project.folder(
        "models"
    )


def test_nothing_is_written_over(tmp_path: Path) -> None:
    init_project(tmp_path, dimension=3)
    (tmp_path / "logs" / "kept.log").write_text("a take\n")
    mine = "# my own config\n"
    (tmp_path / "foretell.toml").write_text(mine)
    with pytest.raises(ConfigError, match="already exists"):
        init_project(tmp_path, dimension=5)
    assert (tmp_path / "foretell.toml").read_text() == mine
    assert (tmp_path / "logs" / "kept.log").read_text() == "a take\n"


def test_an_existing_folder_with_other_files_becomes_a_project(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("patch ideas")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "old.ftm").write_bytes(b"x")
    init_project(tmp_path, dimension=2)
    assert (tmp_path / "notes.txt").read_text() == "patch ideas"
    assert (tmp_path / "models" / "old.ftm").read_bytes() == b"x"


@pytest.mark.parametrize("dimension", [1, 0, 5000])
def test_a_size_no_instrument_has_is_refused(tmp_path: Path, dimension: int) -> None:
    with pytest.raises(ConfigError, match="controls"):
        init_project(tmp_path / "x", dimension)
    assert not (tmp_path / "x").exists()


def test_init_asks_for_the_controls_when_not_told(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "p")], input="2\n")
    assert result.exit_code == 0, result.output
    assert "How many controls" in result.output
    assert load_config(tmp_path / "p" / "foretell.toml").interaction.dimension == 3


def test_init_offers_the_studio_and_the_headless_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "p"), "--controls", "2"])
    assert result.exit_code == 0, result.output
    commands = [line.split(": ", 2)[-1] for line in result.output.splitlines()]
    assert f"foretell studio {tmp_path / 'p'}" in commands
    assert f"foretell run --config {tmp_path / 'p' / 'foretell.toml'}" in commands


def test_init_refuses_a_second_time_in_one_line(tmp_path: Path) -> None:
    first = subprocess.run(
        [sys.executable, "-m", "foretell", "init", str(tmp_path), "--controls", "3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0 and "foretell run --config" in first.stderr
    again = subprocess.run(
        [sys.executable, "-m", "foretell", "init", str(tmp_path), "--dimension", "4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"foretell: error: {tmp_path / 'foretell.toml'} already exists; nothing was changed"
    ]


def test_run_with_the_project_config_logs_into_the_project(tmp_path: Path) -> None:
    project = init_project(tmp_path / "pad", dimension=4)
    command = [sys.executable, "-m", "foretell", "run", "--config", str(project.config)]
    command += ["--osc-in", "127.0.0.1:0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    said = process.stderr.readline()  # no model yet: the configured mode waits, said once
    assert "mode callresponse needs a model" in said and "logging the player" in said, said
    first = process.stderr.readline()
    found = re.search(r"listening for OSC on 127\.0\.0\.1:(\d+)", first)
    assert found is not None, first
    performer = SimpleUDPClient("127.0.0.1", int(found.group(1)))
    for i in range(3):
        performer.send_message("/interface", [i / 4, 0.5, 0.25])

    def logged() -> int:
        logs = project.folder("logs").glob("*-4d-mdrnn.log")
        return sum(r.source == "user" for log in logs for r in read_log(log).rows)

    wait_until(lambda: logged() == 3, what="the three inputs in the project's log")
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    (log,) = project.folder("logs").glob("*-4d-mdrnn.log")
    rows = read_log(log).rows
    played = [r.values for r in rows if r.source == "user"]
    assert len(played) == 3 and played[0] == pytest.approx((0.0, 0.5, 0.25))
