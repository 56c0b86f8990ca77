"""An upload is streamed into the project as it arrives, never held whole in the studio's memory:
a body past the cap is refused (413, one line) while it is still coming, and the studio's peak
memory does not grow by its size. A real ``foretell studio`` process, a real HTTP/1.1 client over
a socket (chunked, so that nothing is declared up front), real files."""

from __future__ import annotations

import select
import socket
from pathlib import Path

from foretell.model.random import random_model_file
from tests.studio.running import make_project, running_studio

CHUNK = 1 << 20
CAP = 64 << 20  # foretell.studio.models.MAX_UPLOAD


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) << 10
    raise AssertionError("no VmHWM")


def chunked_upload(port: int, name: str, chunks: int, payload: bytes) -> tuple[bytes, int]:
    """POST ``chunks`` chunks of ``payload`` as ``name``, stopping as soon as an answer comes;
    the answer's first bytes and how many body bytes were sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST /api/models/upload?name={name} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        frame = f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
        try:
            for _ in range(chunks):
                if select.select([sock], [], [], 0)[0]:
                    break  # answered while still sending
                sock.sendall(frame)
                sent += len(payload)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused and closed under us: the answer was sent first
        return read_answer(sock), sent


def read_answer(sock: socket.socket) -> bytes:
    """One HTTP answer: its head, then as many bytes of body as its Content-Length says (or
    until the server closes)."""
    sock.settimeout(30)
    answer = b""
    while True:
        head, ended, body = answer.partition(b"\r\n\r\n")
        if ended and len(body) >= content_length(head):
            return answer
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return answer
        if not chunk:
            return answer
        answer += chunk


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_an_upload_past_the_cap_is_refused_as_it_arrives_without_growing_the_studio(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "p")
    with running_studio(project) as studio:
        port = int(studio.base.rsplit(":", 1)[1].strip("/"))
        before = peak_rss(studio.process.pid)
        answer, sent = chunked_upload(port, "huge.ftm", 4 * CAP // CHUNK, b"\0" * CHUNK)
        grown = peak_rss(studio.process.pid) - before
        assert grown < 24 << 20, f"the studio's peak memory grew {grown >> 20} MB"
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert answer.endswith(b'{"error":"the body is larger than 64 MB"}'), answer[-200:]
        assert CAP <= sent < 4 * CAP  # it was read past the cap, and refused before the end
        folder = project / "models"
        assert sorted(p.name for p in folder.iterdir()) == []  # nothing of it left
        assert studio.client.get("api/status")["models"] == 0  # and it answers on


def test_a_streamed_upload_under_the_cap_is_checked_and_kept(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    model = random_model_file(tmp_path / "m.ftm", dimension=3, units=8, mixtures=2).read_bytes()
    with running_studio(project) as studio:
        port = int(studio.base.rsplit(":", 1)[1].strip("/"))
        answer, sent = chunked_upload(port, "m.ftm", 1, model)
        assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
        assert sent == len(model)
        assert (project / "models" / "m.ftm").read_bytes() == model
        junk, _ = chunked_upload(port, "junk.ftm", 3, b"\1" * 1000)
        assert junk.startswith(b"HTTP/1.1 400"), junk[:300]
        assert sorted(p.name for p in (project / "models").iterdir()) == ["m.ftm"]
