"""Another site's page, open in the same browser, can neither change nor read the studio.

A real second origin (an HTTP server on another port) serves the hostile page; Chromium runs its
requests as it would for any site: a JSON POST and a DELETE need a CORS preflight the studio never
grants, a "simple" POST (text/plain, a form) reaches the door and is refused there, and a GET's
answer is not given to the page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.studio.conftest import Studio


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>another site</title><p>hello</p>")
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


ATTEMPTS = """async (api) => {
  const tried = {};
  const attempt = async (name, url, options) => {
    try {
      const response = await fetch(url, options);
      tried[name] = response.type === "opaque" ? "opaque" : `read ${response.status}`;
    } catch (error) {
      tried[name] = "blocked";
    }
  };
  const json = {"Content-Type": "application/json"};
  await attempt("json_post", api + "takes/new",
                {method: "POST", headers: json, body: JSON.stringify({name: "evil1"})});
  await attempt("plain_post", api + "takes/new",
                {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
                 body: JSON.stringify({name: "evil2"})});
  await attempt("delete", api + "takes/keep", {method: "DELETE"});
  await attempt("config", api + "config",
                {method: "PUT", headers: {"Content-Type": "application/toml"}, body: ""});
  await attempt("read", api + "takes", {});
  return tried;
}"""


def test_a_page_of_another_site_can_neither_change_nor_read_the_studio(
    studio: Studio, other_site: str, browser: Any
) -> None:
    client = studio.running.client
    client.post("api/takes/new", {"name": "keep"}, 201)
    config = (studio.root / "foretell.toml").read_bytes()
    page = browser.new_page()
    page.goto(other_site)
    tried = page.evaluate(ATTEMPTS, studio.base + "/api/")
    assert tried == {
        "json_post": "blocked",  # the preflight is not granted
        "plain_post": "opaque",  # sent without asking: refused at the door (its Origin)
        "delete": "blocked",
        "config": "blocked",
        "read": "blocked",  # no Access-Control-Allow-Origin: the page never sees the answer
    }
    with page.expect_navigation():
        page.evaluate(
            """(url) => { const form = document.createElement("form");
        form.method = "POST"; form.action = url; form.enctype = "text/plain";
        const field = document.createElement("input"); field.name = '{"name": "evil3", "x": "';
        field.value = '"}'; form.appendChild(field); document.body.appendChild(form);
        form.submit(); }""",
            studio.base + "/api/takes/new",
        )
    assert "refused" in page.content()  # the door's answer to the form
    page.close()
    names = [take["name"] for take in client.get("api/takes")["takes"]]
    assert names[0] == "keep" and not any(name.startswith("evil") for name in names)
    assert (studio.root / "foretell.toml").read_bytes() == config
