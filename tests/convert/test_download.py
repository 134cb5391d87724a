"""The downloader against a local HTTP server on 127.0.0.1 (never the network):
resume with Range, restart when Range is ignored, digest checks, conversion."""
import hashlib
import http.server
import re
import socket
import threading

import pytest

from helpers.matfiles import write_mat
from reproduce.cli import main
from reproduce.convert import download
from reproduce.errors import UserError
from reproduce.nets.weights import load_model


class Server:
    """Serves ``payload`` at /file.  ``cut_next`` = n sends only the first n
    bytes of the next answer, then closes (an interrupted transfer);
    ``ranges`` = False ignores Range headers, like some servers do."""

    def __init__(self, payload):
        self.payload, self.cut_next, self.ranges = payload, None, True
        self.requests = []  # the Range header of each request, or None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.headers.get("Range"))
                start = 0
                match = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
                if match and server.ranges:
                    start = int(match.group(1))
                    if start >= len(server.payload):
                        self.send_response(416)
                        self.send_header("Content-Range", "bytes */%d" % len(server.payload))
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (
                        start, len(server.payload) - 1, len(server.payload)))
                else:
                    self.send_response(200)
                body = server.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_next is not None:
                    body, server.cut_next = body[:server.cut_next], None
                    self.close_connection = True
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/file" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(payload):
        servers.append(Server(payload))
        return servers[-1]
    yield start
    for s in servers:
        s.close()


PAYLOAD = bytes(range(256)) * 40 + b"end"  # 10243 bytes, several reads of a small CHUNK


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(download, "CHUNK", 1000)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_interrupted_download_resumes(tmp_path, serve):
    server = serve(PAYLOAD)
    path = str(tmp_path / "model.mat")
    server.cut_next = 4000
    with pytest.raises(UserError, match="interrupted at 4000 of 10243 bytes.*resume"):
        download.fetch(server.url, path, sha256=sha(PAYLOAD), progress=False)
    assert (tmp_path / "model.mat.part").stat().st_size == 4000
    assert not (tmp_path / "model.mat").exists()

    digests, checked = download.fetch(server.url, path, sha256=sha(PAYLOAD), progress=False)
    assert server.requests == [None, "bytes=4000-"]
    assert (tmp_path / "model.mat").read_bytes() == PAYLOAD
    assert not (tmp_path / "model.mat.part").exists()
    assert (digests["sha256"], checked) == (sha(PAYLOAD), "SHA-256")


def test_server_ignoring_range_restarts(tmp_path, serve):
    server = serve(PAYLOAD)
    server.ranges = False
    (tmp_path / "model.mat.part").write_bytes(b"stale bytes from another file")
    download.fetch(server.url, str(tmp_path / "model.mat"), progress=False)
    assert (tmp_path / "model.mat").read_bytes() == PAYLOAD


def test_complete_part_is_verified_without_a_transfer(tmp_path, serve):
    server = serve(PAYLOAD)
    (tmp_path / "model.mat.part").write_bytes(PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    _, checked = download.fetch(server.url, str(tmp_path / "model.mat"),
                                md5=("0" * 32, md5), progress=False)
    assert checked == "MD5" and server.requests == ["bytes=10243-"]  # answered 416
    assert (tmp_path / "model.mat").read_bytes() == PAYLOAD


@pytest.mark.parametrize("given", ["sha256", "md5"])
def test_digest_mismatch_keeps_no_model_file(tmp_path, serve, given):
    server = serve(PAYLOAD)
    path = str(tmp_path / "model.mat")
    wrong = {"sha256": {"sha256": sha(b"other")}, "md5": {"md5": ("0" * 32,)}}[given]
    with pytest.raises(UserError, match="does not match|matches none"):
        download.fetch(server.url, path, progress=False, **wrong)
    assert not (tmp_path / "model.mat").exists()
    # the bytes stay for inspection, or for `--sha256` if the user trusts them
    assert (tmp_path / "model.mat.part").read_bytes() == PAYLOAD


def test_refused_connection_is_a_user_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UserError, match="cannot connect"):
        download.fetch("http://127.0.0.1:%d/file" % port, str(tmp_path / "m"),
                       progress=False)


def test_main_downloads_and_converts(tmp_path, serve, tiny_model, capsys):
    mat = tmp_path / "src.mat"
    write_mat(mat, tiny_model, "current", "v5")
    payload = mat.read_bytes()
    server = serve(payload)
    dest = tmp_path / "weights"
    argv = ["vgg16", "--dest", str(dest), "--url", server.url, "--sha256", sha(payload),
            "--no-progress"]
    assert main(["download"] + argv) == 0
    out = capsys.readouterr().out
    assert "SHA-256 verified" in out and sha(payload) in out
    model = load_model(dest / "vgg16.h5")
    assert model.model_name == "vgg16"
    assert model.source_file == "imagenet-vgg-verydeep-16.mat"
    assert model.source_sha256 == sha(payload)
    assert sorted(p.name for p in dest.iterdir()) == ["imagenet-vgg-verydeep-16.mat",
                                                      "vgg16.h5"]


def test_main_wrong_digest_exits_2(tmp_path, serve, capsys):
    server = serve(PAYLOAD)
    dest = tmp_path / "weights"
    assert main(["download", "vgg19", "--dest", str(dest), "--url", server.url,
                          "--no-progress"]) == 2  # PAYLOAD is not a published file
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "--sha256" in err
    assert not (dest / "vgg19.h5").exists()
