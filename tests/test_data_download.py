"""The full-MNIST download code of gan_course.data, run for real against a local HTTP server on 127.0.0.1.

The server serves gzipped IDX files made from the bundled subset (train split as "train",
test split as "t10k"), so every path of the real code runs without the internet.
"""

import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest
import torch

from gan_course import data


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 2051 if array.ndim == 3 else 2049
    header = struct.pack(">II", magic, len(array)) + (struct.pack(">II", *array.shape[1:]) if array.ndim == 3 else b"")
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture(scope="module")
def idx_files():
    files = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x, y = data.mnist(split, source="bundled")
        images = (x[:, 0] * 255).round().to(torch.uint8).numpy()
        files[f"{prefix}-images-idx3-ubyte.gz"] = idx_bytes(images)
        files[f"{prefix}-labels-idx1-ubyte.gz"] = idx_bytes(y.numpy())
    return files


class Server:
    """A tiny HTTP server whose behaviour per file a test can change."""

    def __init__(self, files):
        self.files = dict(files)
        self.mode = {}  # file name -> "ok" | "truncated" | "missing"
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append(name)
                mode = server.mode.get(name, "ok")
                if name not in server.files or mode == "missing":
                    self.send_error(404)
                    return
                body = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if mode == "truncated" else body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(idx_files, monkeypatch):
    srv = Server(idx_files)
    monkeypatch.setattr(data, "MNIST_SHA256", {k: hashlib.sha256(v).hexdigest() for k, v in idx_files.items()})
    monkeypatch.setenv("GAN_COURSE_MNIST_MIRRORS", srv.url)
    yield srv
    srv.close()


def dead_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"  # nothing listens there any more


def cache_files():
    root = data._mnist_root()
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_download_success_then_cached(server):
    x, y = data.mnist("train", source="full")
    bx, by = data.mnist("train", source="bundled")
    assert torch.equal(x, bx) and torch.equal(y, by)
    assert cache_files() == sorted(data.MNIST_SHA256)
    x_all, _ = data.mnist("all", source="full")
    assert len(x_all) == 5000
    served = len(server.requests)
    data.mnist("test", source="full")
    assert len(server.requests) == served  # nothing fetched twice


def test_auto_uses_the_cache_once_present(server, capsys):
    data.download_mnist()
    data._announced.clear()
    x, _ = data.mnist("test", source="auto")
    assert len(x) == 1000
    assert "full 70,000-image set cached" in capsys.readouterr().out
    assert data.sources()["auto_source"] == "full"


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(server):
    name = "t10k-labels-idx1-ubyte.gz"
    good = server.files[name]
    server.files[name] = good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]  # one flipped byte
    with pytest.raises(data.DataError, match=f"(?s)could not download {name}.*SHA-256 mismatch"):
        data.mnist("test", source="full")
    assert name not in cache_files()
    assert not any(f.endswith(".part") for f in cache_files())


def test_truncated_file_is_rejected_and_the_next_mirror_is_tried(server, monkeypatch):
    name = "train-images-idx3-ubyte.gz"
    server.mode[name] = "truncated"
    with pytest.raises(data.DataError, match=f"could not download {name}"):
        data.download_mnist()
    assert name not in cache_files()

    second = Server(server.files)  # a healthy mirror behind the broken one
    try:
        monkeypatch.setenv("GAN_COURSE_MNIST_MIRRORS", f"{server.url},{second.url}")
        x, _ = data.mnist("train", source="full")
        assert len(x) == 4000 and name in second.requests
    finally:
        second.close()


def test_a_dead_mirror_means_bundled_for_auto_and_an_error_for_full(monkeypatch, capsys):
    monkeypatch.setenv("GAN_COURSE_MNIST_MIRRORS", dead_url())
    data._announced.clear()
    x, _ = data.mnist("train", source="auto")  # falls back to the bundled subset
    assert len(x) == 4000 and "bundled" in capsys.readouterr().out
    with pytest.raises(data.DataError, match="(?s)could not download .* from any mirror.*source=.bundled."):
        data.mnist("train", source="full")
    assert cache_files() == []


def test_corrupt_cache_is_fetched_again(server, capsys):
    data.download_mnist()
    corrupt = data._mnist_root() / "train-labels-idx1-ubyte.gz"
    corrupt.write_bytes(b"not a gzip file")
    assert data.sources()["auto_source"] == "bundled"  # auto does not trust a corrupt cache
    served = len(server.requests)
    x, y = data.mnist("train", source="full")
    assert len(y) == 4000 and len(server.requests) == served + 1
    assert "corrupt; downloading it again" in capsys.readouterr().out
    assert hashlib.sha256(corrupt.read_bytes()).hexdigest() == data.MNIST_SHA256[corrupt.name]
