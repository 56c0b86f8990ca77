"""Races, odd files and configs (issue 32, defects 7-9), against real studio processes, real
files, real training children and a real full disk (a small tmpfs: root only)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from foretell.model.fileformat import METADATA_KEY
from foretell.model.random import random_model_file
from tests.studio.running import Client, make_project, running_studio


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "pad", controls=2)


def odd_model(path: Path, source: Path) -> Path:
    """``source``'s weights with metadata whose ``architecture`` is a list, not a table."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(source), framework="np") as handle:
        weights = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        meta = json.loads((handle.metadata() or {})[METADATA_KEY])
    meta["architecture"] = [1, 2, 3]
    save_file(weights, str(path), metadata={METADATA_KEY: json.dumps(meta)})
    return path


def one_line_without_paths(reply_body: bytes, root: Path) -> str:
    error = json.loads(reply_body)["error"]
    assert "\n" not in error and str(root) not in error and "Traceback" not in error, error
    return str(error)


def test_an_unreadable_model_is_listed_as_broken_never_a_500(project: Path) -> None:
    models = project / "models"
    good = random_model_file(models / "good.ftm", dimension=3, units=8, mixtures=2)
    odd_model(models / "odd.ftm", good)
    with running_studio(project) as studio:
        client = studio.client
        assert client.get("api/status")["models"] == 2
        listed = {m["name"]: m for m in client.get("api/models")["models"]}
        assert "architecture" in listed["odd"]["broken"] and "broken" not in listed["good"]
        assert "/" not in listed["odd"]["broken"]
        refused = client.request("POST", "api/perform", {"model": "odd"})
        assert refused.status == 409
        assert "odd" in one_line_without_paths(refused.body, project)
        assert client.post("api/perform", {"model": "good"})["playing"] == "good"


def _put(client: Client, text: str) -> tuple[int, dict]:
    reply = client.request("PUT", "api/config", text, "application/toml")
    return reply.status, json.loads(reply.body)


def test_config_put_checks_what_the_next_start_checks(project: Path, tmp_path: Path) -> None:
    config = project / "foretell.toml"
    original = config.read_text()
    random_model_file(project / "models" / "dim6.ftm", dimension=6, units=8, mixtures=2)
    random_model_file(project / "models" / "dim3.ftm", dimension=3, units=8, mixtures=2)
    outside = random_model_file(tmp_path / "elsewhere" / "x.ftm", dimension=3, units=8, mixtures=2)
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    with busy, running_studio(project) as studio:
        client = studio.client
        cases = {
            "ensemble": original + '\n[instrument.lead]\nmode = "filter"\n',
            "dimension 6": original.replace("[model]", '[model]\nfile = "models/dim6.ftm"', 1),
            "inside the project": original.replace("[model]", f'[model]\nfile = "{outside}"', 1),
            "cannot be used": original.replace(
                "listen_port = 6000",
                f'listen_host = "127.0.0.1"\nlisten_port = {busy.getsockname()[1]}',
                1,
            ),
        }
        for why, text in cases.items():
            assert text != original, why
            status, body = _put(client, text)
            assert status == 400 and why in body["error"], (why, body)
            one_line_without_paths(json.dumps(body).encode(), project)
            assert config.read_text() == original  # nothing written
        status, body = _put(
            client, original.replace("[model]", '[model]\nfile = "models/dim3.ftm"', 1)
        )
        assert status == 200 and body["applied"] == ["load dim3.ftm"], body
        assert client.get("api/status")["model"] == "dim3"


def test_a_valid_config_replaces_one_broken_by_hand(project: Path) -> None:
    config = project / "foretell.toml"
    original = config.read_text()
    with running_studio(project) as studio:
        config.write_text("[[[ this is not TOML\n")
        status, body = _put(studio.client, original)
        assert status == 200, body
        assert config.read_text() == original


def test_a_config_nested_900_deep_is_one_line(project: Path) -> None:
    config = project / "foretell.toml"
    before = config.read_text()
    with running_studio(project) as studio:
        deep = "x = " + "[" * 900 + "]" * 900 + "\n"
        status, body = _put(studio.client, deep)
        assert status == 400 and "\n" not in body["error"], body
        assert config.read_text() == before
        studio.wait_for(lambda: True)
    assert not any("Traceback" in line for line in studio.lines), "".join(studio.lines)[-2000:]


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted on ``folder`` (root only; the test skips otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()[:200]}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def big_take(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(0)
    values = rng.random((rows, 2))
    lines = [
        f"2026-01-01T12:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}000,interface,"
        f"{a:.6f},{b:.6f}"
        for i, (a, b) in enumerate(values)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_full_disk_is_a_507_and_leaves_no_partial_file(project: Path) -> None:
    big_take(project / "logs" / "big-3d-mdrnn.log", 200_000)
    with tmpfs(project / "datasets", "1m"), tmpfs(project / "models", "1m"):
        with contextlib.suppress(OSError):  # models/ full
            (project / "models" / ".filler").write_bytes(b"\0" * (1 << 20))
        with running_studio(project) as studio:
            client = studio.client
            reply = client.request("POST", "api/datasets", {"name": "d1", "takes": ["big"]})
            assert reply.status == 507, reply.body
            assert "disk is full" in one_line_without_paths(reply.body, project)
            assert list((project / "datasets").iterdir()) == []  # no partial d1.npz, nothing
            model = random_model_file(project / "up.ftm", dimension=3, units=64, mixtures=5)
            reply = client.request(
                "POST",
                "api/models/upload?name=up.ftm",
                model.read_bytes(),
                "application/octet-stream",
            )
            assert reply.status == 507, reply.body
            assert "disk is full" in one_line_without_paths(reply.body, project)
            assert sorted(p.name for p in (project / "models").iterdir()) == [".filler"]
        assert not any("Traceback" in line for line in studio.lines), "".join(studio.lines)[-2000:]


def test_a_config_put_on_a_full_disk_is_a_507(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "2m") as disk:
        project = make_project(disk / "pad", controls=2)
        config = project / "foretell.toml"
        original = config.read_text()
        with running_studio(project) as studio:
            with contextlib.suppress(OSError):
                (disk / "filler").write_bytes(b"\0" * (2 << 20))
            status, body = _put(studio.client, original.replace("pi_temp = 1.0", "pi_temp = 0.9"))
            assert status == 507 and "disk is full" in body["error"], body
            assert config.read_text() == original
            (disk / "filler").unlink()
