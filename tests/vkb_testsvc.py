"""vkb_testsvc.py — what the service tests written in Python share: start `vkbridge serve` on a
free port with a generated model, wait for /health, make HTTP calls, count checks. Imported by
the tests/test_*.sh that embed Python (sys.path gets tests/ first)."""
import json, os, signal, subprocess, sys, time, urllib.error, urllib.request

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what, flush=True)
    return ok


def finish():
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


def gen_model(binary, root, name="tiny", shape="tiny", seed=1, extra=()):
    """A random-weight model folder root/name (vkbridge gen-model)."""
    out = os.path.join(root, name)
    if not os.path.isdir(out):
        subprocess.run([binary, "gen-model", "--out", out, "--shape", shape, "--seed", str(seed),
                        *extra], check=True, stdout=subprocess.DEVNULL)
    return out


def http(url, body=None, headers=None, timeout=30, method=None):
    """(status, parsed JSON or raw bytes, headers); status 0 when the connection failed."""
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, hdrs = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read(), e.code, e.headers
    except OSError:
        return 0, b"", {}
    try:
        return status, json.loads(raw), hdrs
    except ValueError:
        return status, raw, hdrs


class Server:
    """vkbridge serve --port 0 with env; .url once it printed its address; .ready() polls
    /health. stop() sends SIGTERM and returns the exit code; kill() is SIGKILL."""

    def __init__(self, binary, env=None, args=(), cwd=None):
        full = dict(os.environ)
        full.update({"VKB_DEVICE": "cpu", "MODEL_BERTSCORE": "", "VKB_LOG_LEVEL": "warn"})
        full.update(env or {})
        self.proc = subprocess.Popen([binary, "serve", "--port", "0", *args], env=full, cwd=cwd,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"vkbridge serve did not start: {line!r} (exit {self.proc.poll()})")
        self.url = line.split()[-1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])

    def ready(self, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            if http(self.url + "/health", timeout=5)[0] == 200:
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9

    def kill(self):
        self.proc.kill()
        self.proc.wait()
