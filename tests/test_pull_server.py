#!/usr/bin/env python3
"""A stand-in for the Hugging Face hub, for tests/test_pull.sh.

Serves every repository folder under --root (ROOT/ORG/NAME/...) in the hub's URL layout:
  GET  /api/models/{repo}/revision/main   -> {"sha": ..., "siblings": [{"rfilename": ...}]}
  HEAD/GET /{repo}/resolve/{sha}/{file}    -> *.safetensors (LFS): 302 to the absolute URL
                                              http://HOST/cdn/{sha256} with X-Linked-Etag,
                                              X-Linked-Size, X-Repo-Commit;
                                              other files: 200 with ETag = git blob sha1
  GET /cdn/{sha256}                        -> the blob, with Range support (206); HEAD there
                                              is refused (403), like a URL signed for GET
--alias OLD=NEW answers every path of repository OLD with a relative 307 to NEW's (a
renamed repository).
Fault injection for the tests: --cut-after N sends only N bytes of the first GET of each
LFS blob and drops the connection; --corrupt FILE serves FILE with one byte flipped while
advertising the true hashes; --token T answers 401 unless "Authorization: Bearer T".
Every request is appended to --log as "METHOD PATH RANGE". Binds 127.0.0.1 on a free port
and writes the port to --port-file.
"""
import argparse
import hashlib
import http.server
import json
import os
import re
import threading

args = None
lock = threading.Lock()
cut_done = set()


def log(line):
    with lock, open(args.log, "a") as f:
        f.write(line + "\n")


def repo_sha(repo):
    return hashlib.sha1(repo.encode()).hexdigest()


def repo_files(repo):
    base = os.path.join(args.root, repo)
    out = []
    for d, _, files in os.walk(base):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), base))
    return sorted(out)


def blob_index():
    """sha256 -> path of every LFS file under root."""
    idx = {}
    for d, _, files in os.walk(args.root):
        for f in files:
            if f.endswith(".safetensors"):
                p = os.path.join(d, f)
                with open(p, "rb") as fh:
                    idx[hashlib.sha256(fh.read()).hexdigest()] = p
    return idx


def content_of(path):
    with open(path, "rb") as f:
        data = f.read()
    if args.corrupt and os.path.basename(path) == args.corrupt and data:
        data = bytes([data[0] ^ 0xFF]) + data[1:]
    return data


class Hub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", headers=None, send_body=True):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def authorized(self):
        if not args.token:
            return True
        return self.headers.get("Authorization") == "Bearer " + args.token

    def serve_bytes(self, data, etag, head):
        rng = self.headers.get("Range")
        start = 0
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng)
            start = int(m.group(1)) if m else 0
            if start >= len(data):
                self.reply(416, headers={"Content-Range": "bytes */%d" % len(data)})
                return
        part = data[start:]
        self.send_response(206 if rng else 200)
        self.send_header("ETag", '"%s"' % etag)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(part)))
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        if head:
            return
        if args.cut_after and etag not in cut_done and not rng:
            with lock:
                cut_done.add(etag)
            self.wfile.write(part[: args.cut_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(part)

    def handle_any(self, head):
        log("%s %s %s" % (self.command, self.path, self.headers.get("Range", "-")))
        if not self.authorized():
            self.reply(401, b'{"error":"Invalid credentials"}', send_body=not head)
            return
        for old, new in args.alias:
            for prefix in ("/api/models/" + old + "/", "/" + old + "/"):
                if self.path.startswith(prefix):
                    moved = prefix.replace(old, new, 1) + self.path[len(prefix):]
                    self.reply(307, headers={"Location": moved}, send_body=not head)
                    return
        m = re.fullmatch(r"/api/models/(.+)/revision/main", self.path)
        if m:
            repo = m.group(1)
            if not os.path.isdir(os.path.join(args.root, repo)):
                self.reply(404, b'{"error":"Repository not found"}', send_body=not head)
                return
            body = json.dumps({"id": repo, "sha": repo_sha(repo),
                               "siblings": [{"rfilename": f} for f in repo_files(repo)]})
            self.reply(200, body.encode(), {"Content-Type": "application/json"}, not head)
            return
        m = re.fullmatch(r"/cdn/([0-9a-f]{64})", self.path)
        if m and head:
            self.reply(403, b"signed for GET", send_body=False)
            return
        if m:
            p = blob_index().get(m.group(1))
            if not p:
                self.reply(404, send_body=not head)
                return
            self.serve_bytes(content_of(p), m.group(1), head)
            return
        m = re.fullmatch(r"/(.+)/resolve/([0-9a-f]{40})/(.+)", self.path)
        if m:
            repo, sha, name = m.groups()
            path = os.path.join(args.root, repo, name)
            if sha != repo_sha(repo) or not os.path.isfile(path):
                self.reply(404, b"Entry not found", send_body=not head)
                return
            with open(path, "rb") as f:
                data = f.read()
            if name.endswith(".safetensors"):
                digest = hashlib.sha256(data).hexdigest()
                host = self.headers.get("Host", "127.0.0.1")
                self.reply(302, headers={"Location": "http://%s/cdn/%s" % (host, digest),
                                         "X-Linked-Etag": '"%s"' % digest,
                                         "X-Linked-Size": str(len(data)),
                                         "X-Repo-Commit": sha}, send_body=not head)
                return
            git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            self.serve_bytes(content_of(path), git, head)
            return
        self.reply(404, send_body=not head)

    def do_GET(self):
        self.handle_any(False)

    def do_HEAD(self):
        self.handle_any(True)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--cut-after", type=int, default=0)
    p.add_argument("--corrupt", default="")
    p.add_argument("--token", default="")
    p.add_argument("--alias", action="append", default=[],
                   type=lambda s: tuple(s.split("=", 1)))
    args = p.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
