"""A local HTTP server on 127.0.0.1 that answers as the Hugging Face hub does, for fetch tests.

`HEAD|GET /{repo}/resolve/{revision}/{file}` answers like the Hub for an LFS file: a 302 redirect to a
storage host, carrying `X-Repo-Commit`, `X-Linked-Etag` (the file's SHA-256), `X-Linked-Size` and an
`ETag`; unknown repositories, revisions and files get the Hub's status codes and `X-Error-Code`
headers. The storage host (`localhost`, another host name than the Hub's `127.0.0.1`, so that
huggingface_hub does not follow the redirect on HEAD, as with the real CDN) serves the bytes with
`Range` support. Faults per file: `truncate` (a short body with a consistent length), `drop_once`
(the first transfer stops half-way, the retry must ask for the rest with a `Range` header) and
`content` (serve other bytes than the announced hash: a lying or corrupted server).

Files are read in place (the shared fixtures are never copied).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class HubFile:
    path: Path
    sha256: str = ""  # announced (X-Linked-Etag); the file's own hash unless a test says otherwise
    fault: str = ""  # "" | truncate | drop_once
    content: bytes | None = None  # bytes served instead of the file's
    served: int = 0

    def __post_init__(self):
        if not self.sha256:
            self.sha256 = hashlib.sha256(Path(self.path).read_bytes()).hexdigest()

    def body(self) -> bytes:
        return self.content if self.content is not None else Path(self.path).read_bytes()


@dataclass
class FakeHub:
    """repos: {repo_id: {"commit": 40-hex, "files": {filename: HubFile}}}; `requests` logs what came in."""

    repos: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)

    def add(self, repo: str, filename: str, path: Path, commit: str = "c" * 40, **kw) -> HubFile:
        entry = self.repos.setdefault(repo, {"commit": commit, "files": {}})
        entry["files"][filename] = HubFile(Path(path), **kw)
        return entry["files"][filename]

    def start(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                self._answer(head=True)

            def do_GET(self):
                self._answer(head=False)

            def _send(self, status: int, headers: dict, body: bytes = b"", head: bool = False) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, str(v))
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head and body:
                    self.wfile.write(body)

            def _answer(self, head: bool) -> None:
                hub.requests.append((self.command, self.path, self.headers.get("Range")))
                m = re.fullmatch(r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>[^?]+)", self.path)
                if m:
                    return self._resolve(m["repo"], m["rev"], m["file"], head)
                m = re.fullmatch(r"/storage/(?P<repo>[^/]+/[^/]+)/(?P<file>[^?]+)", self.path)
                if m and m["repo"] in hub.repos and m["file"] in hub.repos[m["repo"]]["files"]:
                    return self._storage(hub.repos[m["repo"]]["files"][m["file"]], head)
                self._send(404, {})

            def _resolve(self, repo: str, rev: str, filename: str, head: bool) -> None:
                if repo not in hub.repos:
                    return self._send(401, {"X-Error-Code": "RepoNotFound",
                                            "X-Error-Message": "Repository not found"}, head=head)
                info = hub.repos[repo]
                if rev not in ("main", info["commit"]):
                    return self._send(404, {"X-Error-Code": "RevisionNotFound",
                                            "X-Error-Message": "Invalid rev id"}, head=head)
                if filename not in info["files"]:
                    return self._send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": info["commit"],
                                            "X-Error-Message": "Entry not found"}, head=head)
                f = info["files"][filename]
                port = self.server.server_address[1]
                self._send(302, {
                    "Location": f"http://localhost:{port}/storage/{repo}/{filename}",
                    "X-Repo-Commit": info["commit"],
                    "X-Linked-Etag": f'"{f.sha256}"',
                    "X-Linked-Size": str(len(f.body())) if f.fault != "truncate" else Path(f.path).stat().st_size,
                    "ETag": '"0123456789abcdef0123456789abcdef01234567"',
                }, head=head)

            def _storage(self, f: HubFile, head: bool) -> None:
                body = f.body()
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
                part = body[start:]
                headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
                           "ETag": f'"{f.sha256}"'}
                status = 206 if rng else 200
                if rng:
                    headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                if f.fault == "truncate":
                    part = part[: len(part) // 2]
                headers["Content-Length"] = len(part)
                if head:
                    return self._send(status, headers, head=True)
                if f.fault == "drop_once" and f.served == 0:
                    f.served += 1
                    self._send(status, headers)  # announces the whole length...
                    self.wfile.write(part[: len(part) // 2])  # ...sends half, and hangs up
                    self.wfile.flush()
                    self.close_connection = True
                    return
                f.served += 1
                self._send(status, headers)
                self.wfile.write(part)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
