"""``foretell run`` and ``foretell dataset`` through click's runner (and real processes)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from pythonosc.udp_client import SimpleUDPClient

from foretell.cli import cli
from foretell.cli.run_commands import build_config
from foretell.config import RunConfig
from foretell.model.random import random_model_file
from tests.osc_peers import recv_osc, udp_peer


def _config(**options: Any) -> RunConfig:
    return build_config(**options)


def test_options_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "stage.toml"
    path.write_text('[interaction]\nmode = "battle"\nthreshold = 2.0\n[osc]\nsend_port = 7000\n')
    config = _config(
        config_path=path,
        model=tmp_path / "m.ftm",
        mode="filter",
        osc_in="6100",
        osc_out="10.0.0.2:7001",
        pi_temp=0.5,
        log_dir=tmp_path / "logs",
    )
    assert config.interaction.mode == "filter" and config.interaction.threshold == 2.0
    assert (config.osc.listen_host, config.osc.listen_port) == ("0.0.0.0", 6100)
    assert (config.osc.send_host, config.osc.send_port) == ("10.0.0.2", 7001)
    assert config.model.pi_temp == 0.5 and config.log.dir == tmp_path / "logs"


def test_no_model_means_useronly() -> None:
    assert _config().interaction.mode == "useronly"


def test_models_dir_defaults_to_the_first_instrument_s_model_folder(tmp_path: Path) -> None:
    assert _config().models_dir() == Path("models")
    assert _config(model=tmp_path / "solo" / "m.ftm").models_dir() == tmp_path / "solo"
    flags = tuple(f"{n}={tmp_path / n / 'm.ftm'}:0:127.0.0.1:9" for n in ("lead", "bass"))
    assert _config(instruments=flags).models_dir() == tmp_path / "lead"
    top = _config(model=tmp_path / "top" / "m.ftm", instruments=flags)
    assert top.models_dir() == tmp_path / "lead"  # the model --learn fine-tunes
    path = tmp_path / "band.toml"
    path.write_text(
        '[model]\nfile = "top/m.ftm"\n[instrument.lead]\n[instrument.bass]\nmodel = "b/m.ftm"\n'
    )
    assert _config(config_path=path).models_dir() == tmp_path / "top"  # inherited
    path.write_text('[instrument.lead]\ndimension = 3\n[instrument.bass]\nmodel = "b/m.ftm"\n')
    assert _config(config_path=path).models_dir() == tmp_path / "b"


def test_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--mode", "filter"])
    assert result.exit_code == 1 and "mode filter needs a model" in str(result.exception)
    bad = tmp_path / "bad.toml"
    bad.write_text('[interaction]\nmood = "filter"\n')
    result = runner.invoke(cli, ["run", "--config", str(bad)])
    assert "unknown key interaction.mood (valid keys: mode" in str(result.exception)
    result = runner.invoke(cli, ["run", "--osc-out", "here:there"])
    assert "--osc-out 'here:there' is not PORT or HOST:PORT" in str(result.exception)


def test_dataset_command(tmp_path: Path) -> None:
    log = tmp_path / "2024-05-01T20-15-03-3d-mdrnn.log"
    log.write_text(
        "2024-05-01T20:15:03.100000,interface,0.1,0.2\n"
        "2024-05-01T20:15:03.150000,rnn,0.1,0.2\n"
        "oops\n"
        "2024-05-01T20:15:03.200000,interface,0.3,0.4\n"
        "2024-05-01T20:15:03.300000,interface,0.5,0.6\n"
    )
    out = tmp_path / "d.npz"
    result = CliRunner().invoke(cli, ["dataset", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 1 performances, 2 events (dimension 3)" in result.output
    assert f"{log}:3: fewer than three fields" in result.output
    assert out.exists()


def test_dataset_says_the_file_it_wrote_and_what_it_could_not_read(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "2024-05-01T20-15-03-3d-mdrnn.log").write_text(
        "".join(f"2024-05-01T20:15:03.{i}00000,interface,0.{i},0.{i}\n" for i in range(1, 6))
    )
    runner = CliRunner()
    named = runner.invoke(cli, ["dataset", str(logs), "--out", str(tmp_path / "mydata")])
    assert named.exit_code == 0 and f"to {tmp_path / 'mydata.npz'}\n" in named.output
    assert (tmp_path / "mydata.npz").is_file()
    csv = runner.invoke(cli, ["dataset", str(logs), "--out", str(tmp_path / "mydata.csv")])
    assert csv.exit_code == 1 and not list(tmp_path.glob("mydata.csv*"))
    assert "a dataset is an .npz file, not .csv: give" in str(csv.exception)

    # a dataset given as a log: named as such, no lines of binary noise, and nothing written
    again = runner.invoke(
        cli, ["dataset", str(tmp_path / "mydata.npz"), "--out", str(tmp_path / "d2.npz")]
    )
    assert again.exit_code == 1 and not (tmp_path / "d2.npz").exists()
    assert "mydata.npz: a dataset, not a performance log" in str(again.exception)
    assert "broken" not in again.output

    empty = tmp_path / "empty"
    empty.mkdir()
    none = runner.invoke(cli, ["dataset", str(empty), "--out", str(tmp_path / "d3.npz")])
    assert none.exit_code == 1
    assert str(none.exception) == (
        f"no performance logs in {empty} (a folder's logs are its *-mdrnn.log files)"
    )


def test_run_process_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "foretell",
            "run",
            "--osc-in",
            "127.0.0.1:0",
            "--dimension",
            "3",
            "--log-dir",
            str(tmp_path),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        first = process.stderr.readline()
        assert "listening for OSC on 127.0.0.1:" in first and "mode useronly" in first
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "stopped after 0 inputs" in rest
    assert len(list(tmp_path.glob("*-3d-mdrnn.log"))) == 1


def test_run_process_summarises_every_instrument_of_an_ensemble(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    outs = {name: udp_peer(10.0) for name in ("lead", "bass")}
    command = [sys.executable, "-m", "foretell", "run", "--osc-in", "127.0.0.1:0", "--mode"]
    command += ["filter", "--log-dir", str(tmp_path / "logs")]
    for name, out in outs.items():
        command += ["--instrument", f"{name}={model}:0:127.0.0.1:{out.getsockname()[1]}"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    try:
        ports = {}
        while len(ports) < 2:
            line = process.stderr.readline()
            assert line, "foretell run ended before listening"
            if found := re.search(r"instrument (\w+): OSC in /interface on 127.0.0.1:(\d+)", line):
                ports[found.group(1)] = int(found.group(2))
        peers = {name: SimpleUDPClient("127.0.0.1", port) for name, port in ports.items()}
        for name, count in (("lead", 3), ("bass", 2)):
            for i in range(count):  # one at a time: each answered, none stale
                peers[name].send_message("/interface", [0.2 * i, 0.5, 0.5])
                reply = recv_osc(outs[name], 10.0)
                assert reply is not None and reply[0] == f"/{name}/prediction"
        peers["bass"].send_message("/interface", [0.5])
        peers["bass"].send_message("/interface", [0.1, 0.2, 0.3])
        assert recv_osc(outs["bass"], 10.0) is not None  # read after the wrong count
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for out in outs.values():
            out.close()
    assert process.returncode == 0, rest
    lines = [line for line in rest.splitlines() if "stopped after" in line]
    logs = {name: next((tmp_path / "logs" / name).glob("*-4d-mdrnn.log")) for name in outs}
    assert lines == [
        f"foretell: instrument lead: stopped after 3 inputs and 3 model events (3 answering "
        f"each input, 0 in its own time, 0 stale); rejected: none; log {logs['lead']}",
        f"foretell: instrument bass: stopped after 3 inputs and 3 model events (3 answering "
        f"each input, 0 in its own time, 0 stale); rejected: wrong_count 1; log {logs['bass']}",
    ]


def test_a_taken_page_port_names_the_option_of_the_command_that_was_run(tmp_path: Path) -> None:
    from foretell.project.layout import init_project

    project = init_project(tmp_path / "pad", 3)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        runs = {
            "--port PORT": ["studio", str(project.root), "--port", port],
            "--dashboard PORT": ["run", "--controls", "2", "--no-log", "--dashboard", port],
        }
        for option, arguments in runs.items():
            ran = subprocess.run(
                [sys.executable, "-m", "foretell", *arguments, "--osc-in", "127.0.0.1:0"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            error = ran.stderr.strip().splitlines()[-1]
            assert ran.returncode == 1 and error.startswith("foretell: error:"), ran.stderr
            assert f"choose another port with {option}" in error, error
            assert "--dashboard" not in error or option == "--dashboard PORT", error


def test_a_model_of_another_size_than_the_controls_given_is_refused_at_start(
    tmp_path: Path,
) -> None:
    model = random_model_file(tmp_path / "two.ftm", dimension=3, units=16)
    command = [sys.executable, "-m", "foretell", "run", "--model", str(model), "--controls", "3"]
    ran = subprocess.run(
        [*command, "--osc-in", "127.0.0.1:0", "--no-log"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.count("\n") == 1 and "two.ftm plays 2 controls" in ran.stderr, ran.stderr
    assert "not the 3 the instrument is set to" in ran.stderr


def _first_lines(arguments: list[str]) -> list[str]:
    """``foretell ARGUMENTS``'s lines up to the one that says it listens; stopped by Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "foretell", *arguments], stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while not lines or "listening for OSC" not in lines[-1]:
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(lines)
    return lines


def test_what_the_config_asks_for_and_does_not_get_is_said_in_one_line(tmp_path: Path) -> None:
    from foretell.project.layout import init_project

    project = init_project(tmp_path / "pad", 3)
    text = project.config.read_text()
    project.config.write_text(text.replace('mode = "callresponse"', 'mode = "filter"'))
    run = ["run", "--config", str(project.config), "--osc-in", "127.0.0.1:0"]
    said, listening = _first_lines(run)
    assert "mode filter needs a model and none is configured" in said and "logging" in said
    assert "mode useronly" in listening and "log " + str(project.folder("logs")) in listening

    project.config.write_text(
        text.replace('# file = "models/NAME.ftm"', 'file = "models/gone.ftm"')
    )
    said, listening = _first_lines(run)
    assert "configured model is not played" in said and "gone.ftm does not exist" in said
    assert "mode useronly" in listening and "model none" in listening


def test_the_stop_line_of_a_call_and_response_run_does_not_say_no_answers(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=3, units=16)
    out = udp_peer(10.0)
    command = [sys.executable, "-m", "foretell", "run", "--model", str(model), "--mode"]
    command += ["callresponse", "--osc-in", "127.0.0.1:0", "--no-log"]
    command += ["--osc-out", f"127.0.0.1:{out.getsockname()[1]}"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    try:
        line = process.stderr.readline()
        port = int(re.search(r"listening for OSC on 127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        client = SimpleUDPClient("127.0.0.1", port)
        for i in range(5):
            client.send_message("/interface", [0.1 * i, 0.5])
        assert recv_osc(out, timeout=10) is not None  # its answer, after the silence
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        out.close()
    stopped = next(s for s in rest.splitlines() if "stopped after" in s)
    found = re.search(r"and (\d+) model events \(0 answering each input, (\d+) in its own", stopped)
    assert found is not None and int(found.group(1)) == int(found.group(2)) > 0, stopped
    assert "0 answers" not in stopped
