"""``foretell bench frames``: a real engine and dashboard, pages reading state frames; it reports
each page's frames per second and the gaps between them (figures only: nothing is asserted of
them beyond their being measured)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from foretell.cli import cli


def test_the_frames_bench_measures_every_page() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "frames", "--pages", "2", "--duration", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["pages"] == 2 and len(report["per_page"]) == 2
    for page in report["per_page"]:
        assert page["target_fps"] == 30.0 and page["fps"] > 0
        assert page["gap_p50_ms"] > 0 and page["gap_max_ms"] >= page["gap_p99_ms"]
