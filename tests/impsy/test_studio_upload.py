"""An IMPSY model uploaded to the studio is imported (as by ``import-impsy``) and plays."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from foretell.impsy.keras_import import import_impsy_model
from foretell.model.fileformat import load_model
from tests.studio.running import make_project, running_studio

H5 = "musicMDRNN-dim4-layers2-units64-mixtures5-scale10.h5"
KERAS = "impsy11-lightpad12k-dim4-layers2-units64-mixtures5-scale10.keras"


@pytest.mark.parametrize("name", [H5, KERAS])
def test_an_impsy_upload_is_imported_and_plays(
    tmp_path: Path, shipped: Callable[[str], Path], name: str
) -> None:
    source = shipped(name)
    project = make_project(tmp_path / "pad", controls=3)
    with running_studio(project) as studio:
        client = studio.client
        reply = client.request(
            "POST",
            f"api/models/upload?name={name}",
            source.read_bytes(),
            "application/octet-stream",
        )
        assert reply.status == 201, reply.body
        model = reply.json()["model"]
        stem = name.rpartition(".")[0]
        assert model["name"] == stem and model["units"] == 64 and model["dimension"] == 4
        imported = load_model(project / "models" / f"{stem}.ftm")
        expected = import_impsy_model(source).model  # what foretell import-impsy writes
        assert imported.spec == expected.spec
        assert all(np.array_equal(imported.weights[k], v) for k, v in expected.weights.items())
        assert client.post("api/perform", {"model": stem, "mode": "filter"})["playing"] == stem
