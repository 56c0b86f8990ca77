import zipfile
from pathlib import Path

import numpy as np
import pytest

from foretell.data.dataset import bundled_dataset_path, load_dataset, save_dataset
from foretell.errors import DatasetError


def perf(n: int = 5, dim: int = 4) -> np.ndarray:
    rng = np.random.default_rng(n)
    return np.column_stack([rng.uniform(0.01, 0.1, n), rng.random((n, dim - 1))])


def test_bundled_dataset_loads_with_its_real_shape() -> None:
    dataset = load_dataset(bundled_dataset_path())
    assert dataset.dimension == 4
    assert dataset.events == 12074
    assert len(dataset.performances) == 4
    assert all(p.dtype == np.float32 for p in dataset.performances)


def test_round_trip_drops_empty_performances(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    save_dataset(path, [perf(5), np.empty((0, 4)), perf(7)])
    dataset = load_dataset(path)
    assert [len(p) for p in dataset.performances] == [5, 7]
    assert dataset.fingerprint() == load_dataset(path).fingerprint()


def test_wrong_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, data=perf())
    with pytest.raises(DatasetError, match="no key 'perfs' \\(found: data\\)"):
        load_dataset(path)


def test_ragged_dimensions_are_named(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    save_dataset(path, [perf(5, 4), perf(5, 3)])
    with pytest.raises(DatasetError, match="ragged dimensions.*performance 0: 4.*performance 1: 3"):
        load_dataset(path)


def test_bad_dt_is_counted_and_located(tmp_path: Path) -> None:
    bad = perf(6)
    bad[2, 0] = 0.0
    bad[4, 0] = -1.0
    path = tmp_path / "d.npz"
    save_dataset(path, [perf(3), bad])
    with pytest.raises(DatasetError, match="2 dt values <= 0 \\(first at performance 1 row 2"):
        load_dataset(path)


def test_nan_is_reported(tmp_path: Path) -> None:
    bad = perf(4)
    bad[1, 2] = np.nan
    path = tmp_path / "d.npz"
    save_dataset(path, [bad])
    with pytest.raises(
        DatasetError, match="1 NaN or infinite values \\(first at performance 0 row 1"
    ):
        load_dataset(path)


def test_out_of_range_controls_refused_then_clipped(tmp_path: Path) -> None:
    bad = perf(4)
    bad[0, 1], bad[3, 3] = 1.5, -0.2
    path = tmp_path / "d.npz"
    save_dataset(path, [bad])
    with pytest.raises(DatasetError, match="2 control values outside \\[0, 1\\].*--clip"):
        load_dataset(path)
    clipped = load_dataset(path, clip=True).performances[0]
    assert clipped[0, 1] == 1.0 and clipped[3, 3] == 0.0


def test_not_a_zip_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    path.write_bytes(b"this is not a dataset")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        load_dataset(path)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "missing.npz")


class Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("owned",))


def test_loading_never_executes_pickled_code(tmp_path: Path) -> None:
    """An object array whose pickle names a callable is refused, not run."""
    array = np.empty(1, dtype=object)
    array[0] = Exploit()
    path = tmp_path / "evil.npz"
    np.savez(path, perfs=array)
    with zipfile.ZipFile(path) as archive:
        assert b"print" in archive.read("perfs.npy")
    with pytest.raises(DatasetError, match="refusing to load builtins.print"):
        load_dataset(path)
