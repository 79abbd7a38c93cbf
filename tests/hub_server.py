"""A real HTTP server on 127.0.0.1 for the download tests: the part of the HF hub API huggingface_hub uses (revision
info with sha and siblings, HEAD/GET resolve with X-Repo-Commit / ETag / size, Range) and plain file URLs, with the
faults worth serving: a connection dropped mid-file, 500s before success, right-sized wrong bytes, 404s. It counts
the body bytes it sends per path, so a test can see that a resume does not send bytes again."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


class Hub:
    def __init__(self):
        self.repos = {}                       # (type, repo) -> {"sha": commit, "files": {name: bytes}}
        self.files = {}                       # plain path -> bytes
        self.faults = {}                      # path -> {"drop_after": n, "errors": k, "corrupt": True}
        self.sent = defaultdict(int)          # path -> body bytes sent
        self.requests = defaultdict(list)     # path -> [Range header or None]
        self.lfs_min = 64                     # files this size or larger are "LFS" (sha256 in the metadata)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def add_repo(self, repo, files, sha="0123456789abcdef0123456789abcdef01234567", repo_type="model"):
        self.repos[(repo_type, repo)] = {"sha": sha, "files": dict(files)}
        return sha

    def _info(self, repo_type, repo):
        r = self.repos[(repo_type, repo)]
        siblings = []
        for name, data in sorted(r["files"].items()):
            s = {"rfilename": name, "size": len(data), "blobId": git_blob_id(data)}
            if len(data) >= self.lfs_min:
                s["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 130}
            siblings.append(s)
        return {"id": repo, "sha": r["sha"], "siblings": siblings}

    def _lookup(self, path):
        """(bytes, extra headers) for a path, or (None, error code header)."""
        if path in self.files:
            return self.files[path], {}
        parts = path.strip("/").split("/")
        repo_type = "dataset" if parts[0] == "datasets" else "model"
        if repo_type == "dataset":
            parts = parts[1:]
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, rev, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            r = self.repos.get((repo_type, repo))
            if r is None:
                return None, {"X-Error-Code": "RepoNotFound"}
            if rev not in (r["sha"], "main"):
                return None, {"X-Error-Code": "RevisionNotFound"}
            if name not in r["files"]:
                return None, {"X-Error-Code": "EntryNotFound"}
            data = r["files"][name]
            return data, {"X-Repo-Commit": r["sha"], "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
        return None, {}

    def _handler(hub):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _json(self, obj, code=200):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _not_found(self, headers):
                self.send_response(404)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self):
                self._serve(head=True)

            def do_GET(self):
                path = unquote(urlparse(self.path).path)
                for kind, prefix in (("model", "/api/models/"), ("dataset", "/api/datasets/")):
                    if path.startswith(prefix) and "/revision/" in path:
                        repo, rev = path[len(prefix):].split("/revision/")
                        r = hub.repos.get((kind, repo))
                        if r is None:
                            return self._json({"error": "Repository not found"}, 404)
                        if rev not in (r["sha"], "main"):
                            return self._json({"error": "Invalid rev id"}, 404)
                        return self._json(hub._info(kind, repo))
                self._serve(head=False)

            def _serve(self, head):
                path = unquote(urlparse(self.path).path)
                data, headers = hub._lookup(path)
                hub.requests[path].append(self.headers.get("Range"))
                if data is None:
                    return self._not_found(headers)
                fault = hub.faults.get(path, {})
                if not head and fault.get("errors", 0) > 0:
                    fault["errors"] -= 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault.get("corrupt"):
                    data = bytes(b ^ 0xFF for b in data)
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes=") and not head:
                    start = int(rng[len("bytes="):].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                body = data[start:]
                self.send_response(206 if start else 200)
                for k, v in headers.items():
                    self.send_header(k, v)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                drop = fault.pop("drop_after", None)
                if drop is not None and drop < len(body):
                    self.wfile.write(body[:drop])
                    hub.sent[path] += drop
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)
                hub.sent[path] += len(body)

        return Handler


if __name__ == "__main__":  # a server in its own process, for bench/bench_fetch.py: serves one random file
    import sys
    import time
    import numpy as np
    size = int(sys.argv[1])
    with Hub() as h:
        h.files["/files/big.bin"] = np.random.RandomState(0).bytes(size)
        h.faults["/files/dropped.bin"] = {}
        h.files["/files/dropped.bin"] = h.files["/files/big.bin"]
        print(h.url, hashlib.sha256(h.files["/files/big.bin"]).hexdigest(), flush=True)
        for line in sys.stdin:  # commands: "drop N" arms a drop after N bytes; "sent" prints the counter
            cmd = line.split()
            if cmd[0] == "drop":
                h.faults["/files/dropped.bin"] = {"drop_after": int(cmd[1])}
            elif cmd[0] == "sent":
                print(h.sent["/files/dropped.bin"], flush=True)
            time.sleep(0)
