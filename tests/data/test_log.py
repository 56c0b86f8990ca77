"""The performance log: IMPSY's format, the sidecar, and a reader that survives broken lines."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from foretell.clock import FakeClock
from foretell.data.log import LogWriter, dimension_from_name, read_log, take_from_name
from foretell.errors import LogFormatError
from foretell.events import Event

IMPSY_ROW = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6},(interface|rnn)(,[0-9.e-]+)+$")


def _write_session(directory: Path, clock: FakeClock, n: int = 5) -> LogWriter:
    writer = LogWriter(directory, clock, {"model": "m.ftm"})
    writer.open(4)
    for i in range(n):
        clock.advance(0.01)
        writer.write(Event(clock.now(), 0.01, (i / n, 0.5, 1.0), "user"))
        writer.write(Event(clock.now(), 0.02, (0.25, 0.5, 0.75), "model"), at=clock.now() + 0.001)
    return writer


def test_impsy_file_name_and_rows(tmp_path: Path) -> None:
    writer = _write_session(tmp_path, FakeClock())
    writer.close()
    assert writer.path is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-4d-mdrnn\.log", writer.path.name)
    lines = writer.path.read_text().splitlines()
    assert len(lines) == 10 and all(IMPSY_ROW.match(line) for line in lines)
    assert lines[0].split(",")[1:] == ["interface", "0", "0.5", "1"]
    assert lines[1].split(",")[1] == "rnn"
    stamps = [dt.datetime.fromisoformat(line.split(",")[0]) for line in lines]
    assert (stamps[1] - stamps[0]).total_seconds() == pytest.approx(0.001, abs=2e-6)
    assert (stamps[2] - stamps[0]).total_seconds() == pytest.approx(0.01, abs=2e-6)


def test_sidecar_holds_the_anchor_and_never_matches_impsys_pattern(tmp_path: Path) -> None:
    writer = _write_session(tmp_path, FakeClock())
    writer.note("timing", row=2, scheduled=1.0, sent=1.0001)
    writer.close()
    sidecars = list(tmp_path.glob("*.foretell.jsonl"))
    assert len(sidecars) == 1 and not sidecars[0].name.endswith("-4d-mdrnn.log")
    records = [json.loads(line) for line in sidecars[0].read_text().splitlines()]
    assert records[0]["kind"] == "header" and records[0]["dimension"] == 4
    assert records[0]["model"] == "m.ftm" and "wall_anchor" in records[0]
    assert records[1] == {"kind": "timing", "row": 2, "scheduled": 1.0, "sent": 1.0001}


def test_two_sessions_in_one_second_get_two_files(tmp_path: Path) -> None:
    first = _write_session(tmp_path, FakeClock())
    second = _write_session(tmp_path, FakeClock())
    assert first.path != second.path
    first.close()
    second.close()
    assert len(list(tmp_path.glob("*-4d-mdrnn.log"))) == 2


def test_a_named_take_keeps_impsys_ending_and_is_never_overwritten(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path, FakeClock())
    path = writer.open(4, take="verse-2")
    writer.write(Event(0.0, 0.01, (0.1, 0.2, 0.3), "user"))
    writer.close()
    assert path.name == "verse-2-4d-mdrnn.log"
    assert dimension_from_name(path) == 4 and take_from_name(path) == "verse-2"
    assert read_log(path).rows[0].values == (0.1, 0.2, 0.3)
    with pytest.raises(LogFormatError, match="a take called 'verse-2' exists already"):
        LogWriter(tmp_path, FakeClock()).open(4, take="verse-2")
    assert len(path.read_text().splitlines()) == 1


def test_a_take_after_an_empty_log_removes_it_and_numbers_its_rows_anew(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = LogWriter(tmp_path, clock)
    first = writer.open(4)
    writer.close(keep_empty=False)  # nothing played: nothing kept
    assert not first.exists() and list(tmp_path.iterdir()) == []
    writer.open(4, take="one")
    assert writer.write(Event(0.0, 0.01, (0.1, 0.2, 0.3), "user")) == 1
    writer.close(keep_empty=False)
    second = writer.open(4, take="two")
    assert writer.write(Event(0.1, 0.01, (0.1, 0.2, 0.3), "user")) == 1  # its own row 1
    writer.close()
    assert sorted(p.name for p in tmp_path.glob("*.log")) == [
        "one-4d-mdrnn.log",
        "two-4d-mdrnn.log",
    ]
    assert second.exists()


def test_reader_skips_and_names_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "2024-05-01T20-15-03-4d-mdrnn.log"
    path.write_text(
        "2024-05-01T20:15:03.100000,interface,0.1,0.2,0.3\n"
        "2024-05-01T20:15:03,interface,0.1,0.2,0.3\n"  # IMPSY: no fraction when it is zero
        "garbage\n"
        "2024-05-01T20:15:04.000000,interface,0.1,0.2\n"
        "2024-05-01T20:15:04.100000,robot,0.1,0.2,0.3\n"
        "2024-05-01T20:15:04.200000,rnn,0.1,nan,0.3\n"
        "2024-05-01T20:15:04.300000,rnn,0.1,x,0.3\n"
        "yesterday,interface,0.1,0.2,0.3\n"
        "\n"
        "2024-05-01T20:15:04.400000,rnn,0.4,0.5,0.6\n"
        "2024-05-01T20:15:04.5000"  # cut by a kill -9
    )
    contents = read_log(path)
    assert contents.dimension == 4 == dimension_from_name(path)
    assert [r.source for r in contents.rows] == ["user", "user", "model"]
    assert contents.rows[2].values == (0.4, 0.5, 0.6)
    assert [b.line for b in contents.broken] == [3, 4, 5, 6, 7, 8, 11]
    assert "incomplete last line" in str(contents.broken[-1])
    assert str(contents.broken[1]).startswith(f"{path}:4: 2 values, expected 3")


def test_dimension_from_the_first_row_when_the_name_is_not_impsys(tmp_path: Path) -> None:
    path = tmp_path / "session.log"
    path.write_text("2024-05-01T20:15:03.100000,interface,0.1,0.2\n")
    assert read_log(path).dimension == 3


def test_sidecar_records_are_capped_per_kind_and_counted(tmp_path: Path) -> None:
    from foretell.data.log import SIDECAR_CAP

    writer = LogWriter(tmp_path, FakeClock())
    writer.open(3)
    for i in range(SIDECAR_CAP + 250):
        writer.note("command", n=i)
    writer.note("summary", **writer.summary())
    writer.close()
    sidecar = next(tmp_path.glob("*.foretell.jsonl")).read_text().splitlines()
    kinds = [json.loads(line)["kind"] for line in sidecar]
    assert kinds.count("command") == SIDECAR_CAP
    assert json.loads(sidecar[-1])["sidecar_omitted"] == {"command": 250}


def _sample_by_splitting(path: Path, points: int) -> tuple[int, list[object]]:
    """``sample_log`` as it was first written: every line split out, blank ones dropped."""
    import math

    from foretell.data.log import _parse_row

    data = path.read_bytes()
    lines = [line for line in data[: data.rfind(b"\n") + 1].split(b"\n") if line.strip()]
    step = max(1, math.ceil(len(lines) / max(1, points)))
    rows = []
    for line in lines[::step]:
        try:
            rows.append(_parse_row(line.decode("utf-8", "replace").rstrip("\r"), 3))
        except ValueError:
            continue
    return len(lines), rows


@pytest.mark.parametrize("points", [1, 3, 7, 600, 10_000])
def test_a_plot_samples_the_rows_that_splitting_every_line_samples(
    tmp_path: Path, points: int
) -> None:
    """Blank and whitespace lines, CRLF, broken rows, a row not yet ended, an empty file."""
    from foretell.bench.stall import write_take
    from foretell.data.log import sample_log

    path = tmp_path / "take-4d-mdrnn.log"
    write_take(path, 2000)
    good = path.read_bytes().split(b"\n")
    tricky = [*good[:500], b"", b"  \t", b"\r", *good[500:900], b"not a row", b"1,2,3,4\r"]
    path.write_bytes(b"\n".join([*tricky, *good[900:1995]]) + b"\n\n" + good[1995][:30])
    assert sample_log(path, points) == _sample_by_splitting(path, points)
    path.write_bytes(b"")
    assert sample_log(path, points) == (0, [])
    path.write_bytes(b"\n\n \n")
    assert sample_log(path, points) == (0, [])
