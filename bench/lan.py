"""LAN server under load: 25 clients poll job status and the job list while 5 downloads run.

    python bench/lan.py [--clients 25] [--downloads 5] [--duration 30] [--warmup 3]
                        [--bandwidth 1048576] [--client raw|httpx] [--no-cookies]
                        [--keep] [--json]

AudioFetch runs as `python -m audiofetch_app serve --host 0.0.0.0` with a password (LAN mode,
`AUDIOFETCH_HOME` = a temp folder whose settings allow `--downloads` jobs at once). A slow
loopback file server (tests.fakes.http_server.FakeServer, in its own process: this file with
--serve) feeds it `--downloads` direct audio downloads, each paced to `--bandwidth` bytes/s
and long enough to last past the measuring window. Once they all run, `--clients` clients
(asyncio tasks in this process, one keep-alive connection, one login token and one cookie jar
each) loop with no pause: GET /api/status/{one of the jobs}, GET /api/jobs?limit=25.
`--warmup` seconds are not recorded, then every request started in the next `--duration`
seconds is: latency (request written to body read) and status; non-2xx or an exception =
failed. At the end the downloads must be running or done (not failed), having moved bytes.

The clients speak HTTP/1.1 on asyncio streams (`RawClient`), about a tenth of httpx's CPU per
request, so that the generator stays far from being the bottleneck on two cores;
`--client httpx` runs the same loop on httpx.AsyncClient. They send back the cookies they
get, as browsers and httpx do; `--no-cookies` behaves like curl.

The peer, in the same run: the same clients against a plain FastAPI app under uvicorn (this
file with --serve-peer, its own process) that answers the same two routes from an in-memory
dict of the same job records: no login, no NiceGUI, no running jobs; the floor the
framework allows on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench lan password 42"
TRACK_PATH = "/audio/"
JOBS_LIMIT = 25  # what the Jobs view asks for
P95_TARGET_MS = 100.0
SET_COOKIE = re.compile(rb"\r\nset-cookie: *([^=;\s]+)=([^;\r]*)", re.IGNORECASE)
REQUEST_TIMEOUT = 10.0  # seconds; a request that takes longer has failed
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_spaces = _sibling("spaces")  # import-clean: constants and functions only
_session_rss = _spaces._session_rss  # summed RSS of a process session, bytes


# -- the slow file server and the peer, each in its own process ----------------------------

def piece_size(bandwidth: int) -> int:
    """Bytes sent between two pauses: at least 16 paced pieces a second, at most 64 KiB."""
    return max(4096, min(64 * 1024, bandwidth // 16))


def serve(size: int, bandwidth: int, downloads: int) -> None:
    """Serve `downloads` audio files of `size` bytes paced to `bandwidth`; print their URLs."""
    from tests.fakes.http_server import FakeServer

    block = os.urandom(64 * 1024)
    body = b"ID3" + (block * (size // len(block) + 1))[:size - 3]
    chunk = piece_size(bandwidth)
    fake = FakeServer()
    fake.add(TRACK_PATH, body, content_type="audio/mpeg", prefix=True, chunk_size=chunk,
             chunk_delay=chunk / bandwidth)
    urls = [fake.url_for(f"{TRACK_PATH}lan-bench-{n}.mp3") for n in range(1, downloads + 1)]
    print(json.dumps({"url": fake.url, "tracks": urls, "bytes": size}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()
    finally:
        fake.stop()


def serve_peer(jobs_file: Path, port: int) -> None:
    """The same two routes from a dict, plain FastAPI under uvicorn (the app's log level)."""
    import uvicorn
    from fastapi import FastAPI, HTTPException

    records: list[dict[str, Any]] = json.loads(jobs_file.read_text())
    by_id = {r["id"]: r for r in records}
    app = FastAPI()

    @app.get("/api/status/{job_id}")
    async def status(job_id: str) -> dict[str, Any]:
        if job_id not in by_id:
            raise HTTPException(404, detail=f"There is no job {job_id}.")
        return by_id[job_id]

    @app.get("/api/jobs")
    async def list_jobs(offset: int = 0, limit: int = 100) -> dict[str, Any]:
        return {"total": len(records), "jobs": records[offset:offset + limit]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# -- the load ---------------------------------------------------------------------------------

class RawClient:
    """One keep-alive HTTP/1.1 connection on asyncio streams with a cookie jar: lean enough
    that 25 of them in one process stay far from being the bottleneck."""

    def __init__(self, url: str, headers: dict[str, str], keep_cookies: bool) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = "".join(f"{k}: {v}\r\n" for k, v in
                            {"host": parts.netloc, **headers}.items()).encode()
        self.keep_cookies = keep_cookies
        self.cookies: dict[bytes, bytes] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """The status of GET `path`, after reading the whole body."""
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            cookie = b"; ".join(b"%s=%s" % item for item in self.cookies.items())
            self.writer.write(b"GET %s HTTP/1.1\r\n%s%s\r\n" % (
                path.encode(), self.head, b"cookie: %s\r\n" % cookie if cookie else b""))
            head = await self.reader.readuntil(b"\r\n\r\n")
            status, lower = int(head[9:12]), head.lower()
            if self.keep_cookies and b"\r\nset-cookie:" in lower:
                self.cookies.update(SET_COOKIE.findall(head))
            if (length := re.search(rb"\r\ncontent-length: *(\d+)", lower)) is not None:
                await self.reader.readexactly(int(length.group(1)))
            elif b"\r\ntransfer-encoding: chunked" in lower:
                while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    await self.reader.readexactly(size + 2)
                await self.reader.readuntil(b"\r\n")
            if b"\r\nconnection: close" in lower:
                await self.aclose()
            return status
        except BaseException:
            await self.aclose()  # a fresh connection for the next request
            raise

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


class HttpxClient:
    """The same through httpx.AsyncClient (one connection), for comparison: a heavier client."""

    def __init__(self, url: str, headers: dict[str, str], keep_cookies: bool) -> None:
        import httpx

        self.keep_cookies = keep_cookies
        self.http = httpx.AsyncClient(base_url=url, headers=headers, timeout=None,
                                      limits=httpx.Limits(max_connections=1))

    async def get(self, path: str) -> int:
        answer = await self.http.get(path)
        await answer.aread()
        if not self.keep_cookies:
            self.http.cookies.clear()
        return answer.status_code

    async def aclose(self) -> None:
        await self.http.aclose()


async def load(url: str, tokens: list[str | None], job_ids: list[str], args,
               server_sid: int) -> dict[str, Any]:
    """Run the clients; every request started inside the window is recorded."""
    samples: dict[str, list[float]] = {"status": [], "jobs": []}
    failures: dict[str, int] = {"status": 0, "jobs": 0}
    errors: dict[str, int] = {}
    start = time.perf_counter() + args.warmup
    end = start + args.duration
    kind = HttpxClient if args.client == "httpx" else RawClient

    async def client(n: int, token: str | None) -> None:
        # What a browser polling the API sends (gzip: the app's GZip middleware is part of it).
        headers = {"accept": "application/json", "accept-encoding": "gzip, deflate",
                   **({"authorization": f"Bearer {token}"} if token else {})}
        http = kind(url, headers, not args.no_cookies)
        i = n
        try:
            while time.perf_counter() < end:
                for route, path in (("status", f"/api/status/{job_ids[i % len(job_ids)]}"),
                                    ("jobs", f"/api/jobs?limit={JOBS_LIMIT}")):
                    t0 = time.perf_counter()
                    try:
                        async with asyncio.timeout(REQUEST_TIMEOUT):
                            code = await http.get(path)
                        ok, what = 200 <= code < 300, f"HTTP {code}"
                    except Exception as exc:  # any exception is a failed request
                        ok, what = False, type(exc).__name__
                    if start <= t0 < end:
                        samples[route].append((time.perf_counter() - t0) * 1000)
                        if not ok:
                            failures[route] += 1
                            errors[what] = errors.get(what, 0) + 1
                i += 1
        finally:
            await http.aclose()

    async def window_marks() -> tuple[float, ...]:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        marks = (time.process_time(), _session_cpu(server_sid), _session_rss(server_sid))
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        return (*marks, time.process_time(), _session_cpu(server_sid), _session_rss(server_sid))

    marks = asyncio.create_task(window_marks())
    await asyncio.gather(*(client(n, t) for n, t in enumerate(tokens)))
    gen0, srv0, rss0, gen1, srv1, rss1 = await marks
    routes = {name: stats(values, failures[name], args.duration)
              for name, values in samples.items()}
    routes["all"] = stats(samples["status"] + samples["jobs"], sum(failures.values()),
                          args.duration)
    return {"routes": routes, "errors": errors,
            "server_cpu_pct": (srv1 - srv0) / args.duration * 100,
            "server_rss_mb": [rss0 / 2**20, rss1 / 2**20],
            "client_cpu_pct": (gen1 - gen0) / args.duration * 100}


def stats(latencies_ms: list[float], failed: int, duration: float) -> dict[str, Any]:
    ordered = sorted(latencies_ms)

    def pct(p: float) -> float:  # nearest rank
        return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)] if ordered else \
            float("nan")

    return {"requests": len(ordered), "rps": len(ordered) / duration, "p50_ms": pct(50),
            "p95_ms": pct(95), "p99_ms": pct(99), "max_ms": ordered[-1] if ordered else
            float("nan"), "failed": failed}


def _session_cpu(sid: int) -> float:
    """CPU seconds (user + system) of every live process in session `sid` (the server)."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) == sid:  # after ")": state ppid pgrp session ... utime stime
                ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / CLK_TCK


def run_load(url: str, tokens: list[str | None], job_ids: list[str], args,
             server_sid: int) -> dict[str, Any]:
    try:  # the servers run on uvloop too
        import uvloop
    except ImportError:
        return asyncio.run(load(url, tokens, job_ids, args, server_sid))
    return uvloop.run(load(url, tokens, job_ids, args, server_sid))


# -- the two servers --------------------------------------------------------------------------

def seed_settings(home: Path, downloads: int) -> None:
    """What a user sets in Settings: let all the downloads run at once."""
    from audiofetch_app import settings as settings_mod
    from audiofetch_app.core.store import Store

    with mock.patch.dict(os.environ, {settings_mod.HOME_ENV: str(home)}):
        store = Store(settings_mod.db_path())
        try:
            settings_mod.SettingsService(store).update(max_running_jobs=max(3, downloads))
        finally:
            store.close()


def run_audiofetch(site: dict, args, work: Path) -> dict[str, Any]:
    import httpx

    from tests.desktop import AppProcess, free_port, wait_for

    home = work / "home"
    seed_settings(home, args.downloads)
    with AppProcess(["serve", "--host", "0.0.0.0", "--port", str(free_port())], home,
                    work / "logs", env={"AUDIOFETCH_PASSWORD": PASSWORD}) as app:
        url = app.wait_for_url(timeout=180)
        with httpx.Client(base_url=url, timeout=30) as http:
            def up() -> bool:
                app.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    return http.get("/login").status_code == 200
                return False

            wait_for(up, 120, "the LAN server to answer", on_timeout=app.output)
            tokens = []
            for _ in range(args.clients):  # one login per client, as separate devices do
                answer = http.post("/api/auth/login", json={"password": PASSWORD})
                answer.raise_for_status()
                tokens.append(answer.json()["token"])
                # A login revokes the session its cookie names: devices share no cookies.
                http.cookies.clear()
            http.headers["authorization"] = f"Bearer {tokens[0]}"
            job_ids = []
            for track in site["tracks"]:
                answer = http.post("/api/download", json={"url": track, "kind": "direct"})
                answer.raise_for_status()
                job_ids.append(answer.json()["job_id"])

            def status() -> list[dict[str, Any]]:
                return [http.get(f"/api/status/{j}").json() for j in job_ids]

            def all_running() -> list[dict[str, Any]] | None:
                jobs = status()
                if bad := [j for j in jobs if j["state"] not in ("queued", "running")]:
                    raise SystemExit(f"a download ended before the load: {bad[0]}")
                return jobs if all(j["state"] == "running" and j["bytes_done"]
                                   for j in jobs) else None

            before = wait_for(all_running, 60, "the downloads to run", interval=0.1)
            t0 = time.perf_counter()
            result = run_load(url, tokens, job_ids, args, app.process.pid)
            after = status()
            seconds = time.perf_counter() - t0
            for job_id in job_ids:
                with contextlib.suppress(httpx.HTTPError):
                    http.post(f"/api/jobs/{job_id}/cancel")
    result["downloads"] = [
        {"id": a["id"], "state": a["state"], "error": a.get("error"),
         "mib_moved": (a["bytes_done"] - b["bytes_done"]) / 2**20,
         "mib_s": (a["bytes_done"] - b["bytes_done"]) / 2**20 / seconds}
        for b, a in zip(before, after, strict=True)]
    result["records"] = before
    return result


def run_peer(records: list[dict[str, Any]], args, work: Path) -> dict[str, Any]:
    import httpx

    from tests.desktop import app_environment, free_port, stop_process, wait_for

    jobs_file = work / "peer-jobs.json"
    jobs_file.write_text(json.dumps(records))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(work / "peer.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-peer", "--port", str(port),
             "--jobs-file", str(jobs_file)], cwd=ROOT, env=app_environment(),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        try:
            def up() -> bool:
                if proc.poll() is not None:
                    raise SystemExit(f"the peer exited:\n{(work / 'peer.log').read_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    return httpx.get(url + "/api/jobs", timeout=5).status_code == 200
                return False

            wait_for(up, 60, "the peer to answer")
            return run_load(url, [None] * args.clients, [r["id"] for r in records], args,
                            proc.pid)
        finally:
            stop_process(proc)


# -- the benchmark ----------------------------------------------------------------------------

def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="audiofetch-bench-lan-"))
    # Long enough to outlast start-up, warm-up and the window at the paced speed.
    size = int(args.bandwidth * (args.warmup + args.duration + 30))
    try:
        with _spaces.served_process(
                ["--size", str(size), "--bandwidth", str(args.bandwidth),
                 "--downloads", str(args.downloads)], work / "site.log", "the file server",
                script=Path(__file__).resolve()) as site:
            ours = run_audiofetch(site, args, work)
        peer = run_peer(ours["records"], args, work)
    finally:
        if args.keep:
            print(f"kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    del ours["records"]
    a, p = ours["routes"]["all"], peer["routes"]["all"]
    ratios = {"rps": a["rps"] / p["rps"] if p["rps"] else None,
              "p95": a["p95_ms"] / p["p95_ms"] if p["p95_ms"] else None}
    return {"clients": args.clients, "downloads": args.downloads, "duration_s": args.duration,
            "warmup_s": args.warmup, "bandwidth_bps": args.bandwidth, "track_bytes": size,
            "cpus": os.cpu_count(), "audiofetch": ours, "peer": peer, "ratios": ratios,
            "targets": targets(ours)}


def targets(ours: dict[str, Any]) -> list[dict[str, Any]]:
    a = ours["routes"]["all"]
    moved = [d for d in ours["downloads"] if d["state"] in ("running", "done")
             and d["mib_moved"] > 0]
    states = ", ".join(sorted({d["state"] for d in ours["downloads"]}))
    return [
        {"target": f"AudioFetch p95 < {P95_TARGET_MS:.0f} ms", "value": f"{a['p95_ms']:.1f} ms",
         "met": a["p95_ms"] < P95_TARGET_MS},
        {"target": "no failed request", "value": f"{a['failed']} of {a['requests']} failed",
         "met": a["failed"] == 0 and a["requests"] > 0},
        {"target": "downloads ran through the window",
         "value": f"{len(moved)} of {len(ours['downloads'])} moved bytes; at the end: {states}",
         "met": len(moved) == len(ours["downloads"])},
    ]


def print_table(report: dict[str, Any]) -> None:
    print(f"\nLAN load on loopback ({report['cpus']} CPUs): {report['clients']} clients, each "
          f"one connection, looping GET /api/status/{{id}} + GET /api/jobs?limit={JOBS_LIMIT} "
          f"with no pause;\n{report['duration_s']:.0f} s measured after "
          f"{report['warmup_s']:.0f} s warm-up; AudioFetch runs {report['downloads']} direct "
          f"downloads meanwhile ({report['bandwidth_bps'] / 2**20:.2f} MiB/s each, "
          f"{report['track_bytes'] / 2**20:.0f} MiB files)\n")
    head = (f"{'server':<24} {'route':<7} {'requests':>9} {'req/s':>8} {'p50 ms':>7} "
            f"{'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'failed':>7} {'srv CPU':>8} "
            f"{'gen CPU':>8} {'srv RSS MB':>11}")
    print(head)
    print("-" * len(head))
    for label, side in (("AudioFetch (LAN, login)", report["audiofetch"]),
                        ("plain FastAPI (peer)", report["peer"])):
        for route in ("status", "jobs", "all"):
            r = side["routes"][route]
            rss = "{:.0f}->{:.0f}".format(*side["server_rss_mb"])
            cpu = (f"{side['server_cpu_pct']:>7.0f}% {side['client_cpu_pct']:>7.0f}% {rss:>11}"
                   if route == "all" else "")
            print(f"{label if route == 'status' else '':<24} {route:<7} {r['requests']:>9,} "
                  f"{r['rps']:>8.1f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f} "
                  f"{r['max_ms']:>7.1f} {r['failed']:>7} {cpu}")
        if side["errors"]:
            print(f"{'':<24} failures: {side['errors']}")
    ratios = report["ratios"]
    print(f"\nAudioFetch / peer: req/s {ratios['rps'] or 0:.2f}x, p95 {ratios['p95'] or 0:.2f}x "
          "(req/s below 1 and p95 above 1 = slower than the floor)")
    print("srv CPU: the server's CPU time in the window / window length (100% = one core); "
          "gen CPU: the load generator's (this process);\nsrv RSS MB: the server's resident "
          "memory at the start and the end of the window.")
    print("Downloads during warm-up + window: " + "; ".join(
        f"{d['state']} {d['mib_s']:.2f} MiB/s" + (f" ({d['error']})" if d["error"] else "")
        for d in report["audiofetch"]["downloads"]) + "\n")
    for t in report["targets"]:
        print(f"[{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=25)
    parser.add_argument("--downloads", type=int, default=5)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not recorded first")
    parser.add_argument("--bandwidth", type=int, default=2**20,
                        help="bytes/s per download (default 1 MiB/s)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="raw asyncio HTTP/1.1 (lean, the default) or httpx.AsyncClient")
    parser.add_argument("--no-cookies", action="store_true",
                        help="send no cookies back, like curl (default: keep them, as browsers "
                             "and httpx do)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and logs")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--jobs-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.size, args.bandwidth, args.downloads)
        return 0
    if args.serve_peer:
        serve_peer(args.jobs_file, args.port)
        return 0
    report = benchmark(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0 if all(t["met"] for t in report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
