"""The studio's JSON API over HTTP, against a real ``foretell studio`` process, as curl would."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from foretell.model.random import random_model_file
from tests.fixtures import bundled_performances, small_dataset, write_take
from tests.osc_peers import recv_osc, udp_peer
from tests.studio.running import Client, make_project, running_studio


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "pad", controls=2)


@pytest.fixture
def project_4d(tmp_path: Path) -> Path:
    return make_project(tmp_path / "lightpad", controls=3)


def _take(client: Client, name: str) -> dict:
    return next(t for t in client.get("api/takes")["takes"] if t["name"] == name)


def test_takes_are_named_logs_recorded_renamed_downloaded_and_deleted(project: Path) -> None:
    with running_studio(project) as studio:
        client = studio.client
        started = client.get("api/takes")["takes"]
        assert len(started) == 1 and started[0]["current"]  # the log of the start, by its time
        first = client.post("api/takes/new", {"name": "warmup"}, 201)["take"]
        assert first["current"] and first["file"] == "warmup-3d-mdrnn.log"
        assert [t["name"] for t in client.get("api/takes")["takes"]] == ["warmup"]  # empty: gone
        studio.play(40, controls=2)
        studio.wait_for(lambda: _take(client, "warmup")["events"] == 40)
        assert client.get("api/status")["take"] == "warmup"

        refused = client.request("POST", "api/takes/warmup/rename", {"name": "other"})
        assert refused.status == 409 and "being recorded" in refused.json()["error"]
        assert client.request("POST", "api/takes/new", {"name": "warmup"}).status == 409
        client.post("api/takes/new", {"name": "second"}, 201)
        studio.play(5, controls=2)

        renamed = client.post("api/takes/warmup/rename", {"name": "verse"})["take"]
        assert renamed["name"] == "verse" and not renamed["current"]
        assert (project / "logs" / "verse-3d-mdrnn.log").is_file()
        assert (project / "logs" / "verse-3d-mdrnn.foretell.jsonl").is_file()
        download = client.request("GET", "api/takes/verse/download")
        rows = download.body.decode().splitlines()
        assert download.status == 200 and len(rows) == 40 and rows[0].split(",")[1] == "interface"
        plot = client.get("api/takes/verse/plot")
        assert plot["rows"] == 40 and len(plot["values"]) == 2 and len(plot["t"]) == 40
        assert plot["t"][0] == 0 and plot["t"][-1] > 0

        assert client.request("DELETE", "api/takes/verse").json() == {"deleted": "verse"}
        assert not (project / "logs" / "verse-3d-mdrnn.log").exists()
        assert client.request("DELETE", "api/takes/second").status == 409
        names = [t["name"] for t in client.get("api/takes")["takes"]]
        assert "verse" not in names and names[0] == "second"


BAD_NAMES = ["../escape", "/etc/passwd", "a/b", "..", ".hidden", "x" * 65, "", "naïve", 3, None]


def test_a_take_name_that_is_not_plain_is_refused(project: Path) -> None:
    with running_studio(project) as studio:
        files = sorted(project.parent.rglob("*"))
        for name in BAD_NAMES:
            reply = studio.client.request("POST", "api/takes/new", {"name": name})
            assert reply.status == 400, (name, reply.body)
            assert reply.json()["error"].startswith("take "), name
        assert sorted(project.parent.rglob("*")) == files
        assert studio.client.get("api/status")["take"] is not None  # still logging


def test_paths_in_urls_never_leave_the_project(project: Path) -> None:
    secret = project.parent / "secret-3d-mdrnn.log"
    secret.write_text("2026-01-01T00:00:00.000000,interface,0.5,0.5\n")
    with running_studio(project) as studio:
        client = studio.client
        for path in (
            "api/takes/..%2Fsecret/download",
            "api/takes/%2E%2E/download",
            "api/takes/..%2F..%2Fetc%2Fpasswd/download",
            "api/models/..%2Fsecret/download",
            "api/datasets/..%2Fsecret",
        ):
            reply = client.request("GET" if "download" in path else "DELETE", path)
            assert reply.status in (400, 404, 405), (path, reply.status)
            assert b"interface" not in reply.body
        assert secret.exists()


def test_changes_from_another_page_or_of_a_simple_type_are_refused(project: Path) -> None:
    with running_studio(project) as studio:
        base = studio.base
        foreign = Client(base, origin="http://evil.example")
        assert foreign.request("POST", "api/takes/new", {"name": "x"}).status == 403
        assert foreign.request("DELETE", "api/takes/x").status == 403
        assert foreign.request("PUT", "api/config", "", "application/toml").status == 403
        cross = studio.client.request(
            "POST", "api/takes/new", {"name": "y"}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status == 403
        plain = studio.client.request("POST", "api/takes/new", '{"name": "z"}', "text/plain")
        assert plain.status == 415
        form = studio.client.request(
            "POST", "api/takes/new", "name=z", "application/x-www-form-urlencoded"
        )
        assert form.status == 415
        names = [t["name"] for t in studio.client.get("api/takes")["takes"]]
        assert not {"x", "y", "z"} & set(names)
        own = Client(base, origin=base.rstrip("/"))
        assert own.request("POST", "api/takes/new", {"name": "mine"}).status == 201
        assert foreign.get("api/takes")["takes"][0]["name"] == "mine"  # reading is harmless


def test_datasets_are_built_from_takes(project: Path) -> None:
    with running_studio(project) as studio:
        client = studio.client
        client.post("api/takes/new", {"name": "one"}, 201)
        studio.play(30, controls=2)
        client.post("api/takes/new", {"name": "two"}, 201)
        studio.play(20, controls=2)
        client.post("api/takes/new", {"name": "three"}, 201)
        studio.wait_for(lambda: _take(client, "two")["events"] == 20)
        built = client.post("api/datasets", {"name": "d1", "takes": ["one", "two"]}, 201)
        # each take is one performance; its first event has no interval and is dropped
        assert built["dataset"]["events"] == 29 + 19
        assert built["dataset"]["performances"] == 2 and built["dataset"]["dimension"] == 3
        assert (project / "datasets" / "d1.npz").is_file()
        listed = client.get("api/datasets")["datasets"]
        assert listed[0]["name"] == "d1" and listed[0]["takes"] == ["one", "two"]
        again = client.request("POST", "api/datasets", {"name": "d1", "takes": ["one"]})
        assert again.status == 409
        missing = client.request("POST", "api/datasets", {"name": "d2", "takes": ["nope"]})
        assert missing.status == 404 and "nope" in missing.json()["error"]
        assert client.request("POST", "api/datasets", {"name": "d3", "takes": []}).status == 400
        assert client.request("DELETE", "api/datasets/d1").json() == {"deleted": "d1"}
        assert not (project / "datasets" / "d1.npz").exists()


def test_the_config_is_checked_as_run_checks_it_and_applied_live(project: Path) -> None:
    config = project / "foretell.toml"
    with running_studio(project) as studio:
        client = studio.client
        text = client.request("GET", "api/config").body.decode()
        assert text == config.read_text()
        before = config.read_bytes()
        typo = text.replace("[interaction]", "[interacton]")
        refused = client.request("PUT", "api/config", typo, "application/toml")
        assert refused.status == 400
        error = refused.json()["error"]
        assert "interacton" in error and "\n" not in error and ".foretell-" not in error
        bad_value = client.request(
            "PUT", "api/config", text.replace("pi_temp = 1.0", "pi_temp = -3"), "application/toml"
        )
        assert bad_value.status == 400 and "pi_temp" in bad_value.json()["error"]
        assert config.read_bytes() == before
        assert not [p for p in project.iterdir() if p.name.startswith(".foretell-")]

        changed = text.replace("pi_temp = 1.0", "pi_temp = 0.5").replace(
            "listen_port = 6000", "listen_port = 6100"
        )
        reply = client.request("PUT", "api/config", changed, "application/toml")
        assert reply.status == 200, reply.body
        assert reply.json() == {
            "applied": ["pitemp 0.5"],
            "refused": [],
            "on_restart": ["osc.listen_port"],
        }
        assert config.read_text() == changed
        filter_mode = changed.replace('mode = "callresponse"', 'mode = "filter"')
        no_model = client.request("PUT", "api/config", filter_mode, "application/toml").json()
        assert no_model["applied"] == [] and no_model["on_restart"] == []
        assert no_model["refused"] == ["mode filter: mode filter needs a model; none is loaded"]


def test_models_upload_checked_perform_and_answer(project: Path) -> None:
    good = random_model_file(project.parent / "good.ftm", dimension=3)
    other = random_model_file(project.parent / "wide.ftm", dimension=5)
    peer = udp_peer()
    with running_studio(project, out_port=peer.getsockname()[1]) as studio:
        client = studio.client
        up = client.request("POST", "api/models/upload?name=lead.ftm", good.read_bytes(),
                            "application/octet-stream")  # fmt: skip
        assert up.status == 201, up.body
        assert up.json()["model"]["dimension"] == 3
        again = client.request("POST", "api/models/upload?name=lead.h5", b"\0" * 64,
                               "application/octet-stream")  # fmt: skip
        assert again.status == 409 and "exists already" in again.json()["error"]
        junk = client.request("POST", "api/models/upload?name=junk.ftm", b"\0" * 64,
                              "application/octet-stream")  # fmt: skip
        assert junk.status == 400 and "junk.ftm" in junk.json()["error"]
        assert not (project / "models" / "junk.ftm").exists()
        assert not [p for p in (project / "models").iterdir() if p.name.startswith(".")]
        hidden = client.request("POST", "api/models/upload?name=../x.ftm", good.read_bytes(),
                                "application/octet-stream")  # fmt: skip
        assert hidden.status == 400 and not (project / "x.ftm").exists()
        client.request("POST", "api/models/upload?name=wide.ftm", other.read_bytes(),
                       "application/octet-stream")  # fmt: skip
        mismatch = client.request("POST", "api/perform", {"model": "wide"})
        assert mismatch.status == 409 and "dimension" in mismatch.json()["error"]

        playing = client.post("api/perform", {"model": "lead", "mode": "filter"})
        assert playing == {"playing": "lead", "mode": "filter"}
        assert client.get("api/models")["playing"] == "lead"
        studio.play(3, controls=2)
        message = recv_osc(peer, timeout=5)
        assert message is not None and message[0] == "/prediction" and len(message[1]) == 2
        assert client.request("DELETE", "api/models/lead").status == 409
        download = client.request("GET", "api/models/lead/download")
        assert download.status == 200 and download.body == good.read_bytes()
        assert client.request("DELETE", "api/models/wide").json() == {"deleted": "wide"}
    peer.close()


def test_an_upload_over_the_limit_is_refused_before_it_is_read(project: Path) -> None:
    with (
        running_studio(project) as studio,
        socket.create_connection(
            ("127.0.0.1", int(studio.base.rsplit(":", 1)[1].strip("/")))
        ) as sock,
    ):
        sock.sendall(
            b"POST /api/models/upload?name=big.ftm HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: 200000000\r\n\r\n"
        )
        sock.settimeout(10)
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413")
        assert not (project / "models" / "big.ftm").exists()


def test_train_on_takes_then_score_compare_and_perform_the_model(project_4d: Path) -> None:
    performances = bundled_performances(300)
    for name, performance in zip(("a", "b", "c"), performances, strict=False):
        write_take(project_4d / "logs" / f"{name}-4d-mdrnn.log", performance)
    random_model_file(project_4d / "models" / "noise.ftm", dimension=4)
    with running_studio(project_4d) as studio:
        client = studio.client
        client.post("api/datasets", {"name": "ab", "takes": ["a", "b"]}, 201)
        job = client.post("api/train", {"dataset": "ab", "size": "xs", "name": "m1"}, 202)["job"]
        busy = client.request("POST", "api/train", {"dataset": "ab", "size": "xs", "name": "m2"})
        assert busy.status == 409
        upload = client.request("POST", "api/models/upload?name=m1.ftm", b"x",
                                "application/octet-stream")  # fmt: skip
        assert upload.status == 409 and "being trained" in upload.json()["error"]
        done = studio.wait_for(
            lambda: (state := client.get(f"api/jobs/{job}"))["state"] != "running" and state,
            timeout=180,
        )
        assert done["state"] == "done", done
        assert done["model"] == "m1" and len(done["history"]) == done["epoch"] >= 1
        assert done["best"]["val"] == min(h["val"] for h in done["history"])
        again = client.request("POST", "api/train", {"dataset": "ab", "size": "xs", "name": "m1"})
        assert again.status == 409 and "exists" in again.json()["error"]

        def scored() -> dict | None:
            models = {m["name"]: m for m in client.get("api/models")["models"]}
            ready = all(m["nll_newest_take"] is not None for m in models.values())
            return models if ready else None

        models = studio.wait_for(scored, timeout=120)
        assert models["m1"]["newest_take"] == "c" and models["m1"]["size"] == "xs"
        assert models["m1"]["data"]["name"] == "ab" and models["m1"]["dimension"] == 4
        compared = client.get("api/compare?a=m1&b=noise&take=c")
        assert compared["events"] == 298  # 299 intervals: each after the first is predicted
        assert compared["a"]["model"] == "m1"
        assert compared["a"]["nll"] == pytest.approx(models["m1"]["nll_newest_take"])
        assert compared["a"]["nll"] < compared["b"]["nll"]  # trained beats random weights
        assert client.post("api/perform", {"model": "m1"})["playing"] == "m1"
        assert client.get("api/status")["model"] == "m1"


def test_a_bad_train_request_says_what_is_wrong(project: Path) -> None:
    small_dataset(project / "datasets" / "d.npz")
    with running_studio(project) as studio:
        client = studio.client
        for body, status, words in (
            ({"dataset": "none", "size": "xs", "name": "m"}, 404, "no dataset"),
            ({"dataset": "../x", "size": "xs", "name": "m"}, 400, "not a plain name"),
            ({"dataset": "d", "size": "huge", "name": "m"}, 400, "size must be one of"),
            ({"dataset": "d", "size": "xs", "name": "m", "epochs": 0}, 400, "epochs must be"),
            ({"dataset": "d", "size": "xs", "name": "m", "epochs": "5"}, 400, "epochs must be"),
            ({"dataset": "d", "size": "xs", "name": "m", "epochs": True}, 400, "epochs must be"),
        ):
            reply = client.request("POST", "api/train", body)
            assert reply.status == status and words in reply.json()["error"], reply.body
        assert client.request("GET", "api/jobs/nope").status == 404
        assert client.get("api/jobs") == {"jobs": []}


def test_on_a_lan_every_request_needs_the_printed_token(project: Path) -> None:
    with running_studio(project, "--host", "0.0.0.0") as studio:
        assert "?token=" in studio.url
        token = studio.url.split("?token=")[1]
        port = studio.base.rstrip("/").rsplit(":", 1)[1]
        local = Client(f"http://127.0.0.1:{port}/")
        assert local.request("GET", "api/takes").status == 403
        assert local.request("POST", "api/takes/new", {"name": "x"}).status == 403
        assert local.request("GET", f"api/takes?token={token}").status == 200
        made = local.request("POST", f"api/takes/new?token={token}", {"name": "x"})
        assert made.status == 201
        assert local.request("GET", "api/takes?token=wrong").status == 403


def test_perform_plays_the_projects_mode_and_a_restart_plays_it_again(project: Path) -> None:
    config = project / "foretell.toml"
    model = random_model_file(project.parent / "lead.ftm", dimension=3)
    (project / "models" / "lead.ftm").write_bytes(model.read_bytes())
    peer = udp_peer()
    with running_studio(project, out_port=peer.getsockname()[1]) as studio:
        client = studio.client
        status = client.get("api/status")
        assert status["mode"] == "useronly" and status["perform_mode"] == "callresponse"
        before = config.read_bytes()
        bad = client.request("POST", "api/perform", {"model": "lead", "mode": "loud"})
        assert bad.status == 400 and "loud" in bad.json()["error"]
        assert "\n" not in bad.json()["error"] and config.read_bytes() == before
        silent = client.request("POST", "api/perform", {"model": "lead", "mode": "listen"})
        assert silent.status == 400 and "the model does not play" in silent.json()["error"]
        assert client.get("api/status")["model"] is None and config.read_bytes() == before

        # no mode given: the project's playing mode (call and response), and it answers
        assert client.post("api/perform", {"model": "lead"}) == {
            "playing": "lead",
            "mode": "callresponse",
        }
        studio.play(5, controls=2)
        message = recv_osc(peer, timeout=5)
        assert message is not None and message[0] == "/prediction" and len(message[1]) == 2
        text = config.read_text()
        assert 'file = "models/lead.ftm"' in text and 'mode = "callresponse"' in text
        assert "pi_temp = 1.0" in text and "# listen | filter" in text  # the rest as it was

        # a mode change of the playing model: no reload, remembered too
        assert client.post("api/perform", {"model": "lead", "mode": "filter"})["mode"] == "filter"
        assert 'mode = "filter"' in config.read_text()
        assert client.get("api/status")["perform_mode"] == "filter"
    recv_all(peer)

    # the next start plays the same model in the same mode, and answers at once
    with running_studio(project, out_port=peer.getsockname()[1]) as again:
        status = again.client.get("api/status")
        assert status["model"] == "lead" and status["mode"] == "filter"
        again.play(3, controls=2)
        message = recv_osc(peer, timeout=5)
        assert message is not None and message[0] == "/prediction"
    peer.close()


def recv_all(peer: socket.socket) -> None:
    """Drop what is waiting on ``peer``."""
    peer.setblocking(False)
    try:
        while True:
            peer.recv(65536)
    except BlockingIOError:
        pass
    finally:
        peer.setblocking(True)
