"""Model files that declare more than they are: refused before they are read, in one line, with
the show's process (the studio's) staying small: a 4 KB ``.h5`` declaring a 40000 x 40000 array,
a ``.keras`` zip bomb, an array the declared architecture does not have, and a reader that runs
out of its child's memory."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from foretell.errors import ImportModelError
from foretell.impsy.keras_import import import_impsy_model
from foretell.impsy.sandbox import in_child
from tests.studio.running import make_project, running_studio

h5py = pytest.importorskip("h5py")
PEAK_RSS_MB = 400


def _keras2_weights(path: Path, kernel_shape: tuple[int, int]) -> Path:
    """A Keras 2 weights-only file whose one LSTM kernel declares ``kernel_shape`` (never
    written: the file stays a few KB whatever it declares)."""
    with h5py.File(path, "w") as root:
        root.attrs["layer_names"] = [b"lstm"]
        layer = root.create_group("lstm")
        names = [b"lstm/kernel:0", b"lstm/recurrent_kernel:0", b"lstm/bias:0"]
        layer.attrs["weight_names"] = names
        layer.create_dataset("lstm/kernel:0", kernel_shape, "f4", chunks=(100, 100))
        layer.create_dataset("lstm/recurrent_kernel:0", (64, 256), "f4")
        layer.create_dataset("lstm/bias:0", (256,), "f4")
    return path


def _zip_bomb(path: Path, megabytes: int = 1024) -> Path:
    """A ``.keras`` archive (about 1 KB per MB) whose weights member inflates to ``megabytes`` MB
    of zeros, written as raw deflate blocks (compressing a gigabyte would take the test's time)."""
    chunk = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)  # the same bytes each MB
    data = block * megabytes + packer.flush()
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    name, size = b"model.weights.h5", megabytes << 20
    sizes = struct.pack("<III", crc, len(data), size)
    local = b"PK\x03\x04" + struct.pack("<HHHHH", 20, 0, 8, 0, 0) + sizes
    local += struct.pack("<HH", len(name), 0) + name
    central = b"PK\x01\x02" + struct.pack("<HHHHHH", 20, 20, 0, 8, 0, 0) + sizes
    central += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, 0) + name
    end = b"PK\x05\x06" + struct.pack(
        "<HHHHIIH", 0, 0, 1, 1, len(central), len(local) + len(data), 0
    )
    path.write_bytes(local + data + central + end)
    with zipfile.ZipFile(path) as archive:  # a well-formed zip, as a Keras archive is
        assert archive.getinfo("model.weights.h5").file_size == size
    return path


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _upload(project: Path, path: Path) -> tuple[int, str, float]:
    """Upload ``path`` to a running studio: the status, the refusal and the studio's peak RSS."""
    with running_studio(project) as studio:
        reply = studio.client.request(
            "POST",
            f"api/models/upload?name={path.name}",
            path.read_bytes(),
            "application/octet-stream",
        )
        peak = _peak_rss_mb(studio.process.pid)  # a high-water mark: the refusal is behind it
    return reply.status, str(reply.json().get("error", "")), peak


def test_an_h5_declaring_40000_by_40000_is_refused_before_reading(tmp_path: Path) -> None:
    path = _keras2_weights(tmp_path / "big.h5", (40000, 40000))
    assert path.stat().st_size < 16 << 10
    status, error, peak = _upload(make_project(tmp_path / "pad", controls=3), path)
    assert status == 400 and "(40000, 40000)" in error and "refused before reading" in error
    assert "\n" not in error and str(tmp_path) not in error
    assert peak < PEAK_RSS_MB


def test_a_keras_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    path = _zip_bomb(tmp_path / "bomb.keras")
    assert path.stat().st_size < 2 << 20
    status, error, peak = _upload(make_project(tmp_path / "pad", controls=3), path)
    assert status == 400 and "model.weights.h5 inflates to 1024 MB" in error, error
    assert peak < PEAK_RSS_MB


def test_an_array_the_declared_architecture_lacks_is_not_read(tmp_path: Path) -> None:
    name = "musicMDRNN-dim4-layers2-units64-mixtures5-scale10.h5"
    path = _keras2_weights(tmp_path / name, (2000, 2000))
    with pytest.raises(ImportModelError) as refused:
        import_impsy_model(path)
    message = str(refused.value)
    assert "(2000, 2000)" in message and "dimension 4, 2 x 64 LSTM" in message
    assert "refused before reading" in message


def allocate(megabytes: int) -> int:
    """What a hostile file makes a reader do (run in the child)."""
    return len(bytearray(megabytes << 20))


def test_a_reader_that_runs_out_of_its_memory_is_one_line(tmp_path: Path) -> None:
    assert in_child(allocate, (8,), "small.h5") == 8 << 20
    with pytest.raises(ImportModelError, match=r"small\.h5: reading it needs more than 512 MB"):
        in_child(allocate, (2048,), "small.h5")
