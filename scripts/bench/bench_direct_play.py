"""Direct-play benchmark: the hub's ``/api/stream/{id}`` against nginx serving the same file.

A ~1 GiB media file (a short real MPEG-TS made by ffmpeg, repeated — MPEG-TS can be
concatenated, so ffprobe and the library see a real video file) is put in a library. The hub
starts in this process with a real configuration, scans it, and serves it over HTTP on loopback;
nginx (``nginx-light``) is started by this script with its own temporary configuration on
another loopback port, in the foreground (``daemon off``), serving the same file from the same
folder. Both send with sendfile; nginx runs one worker process, like the hub's one event loop.

The client is curl (C, one process per scenario and round, ``--parallel``), the same for both
servers, so the client costs the same on both sides. Scenarios:

- **whole file, N clients**: N concurrent downloads of the whole file; throughput = bytes / wall
  time (MiB/s).
- **1 MiB ranges**: 256 requests for 1 MiB ranges at random offsets (the same offsets for both),
  8 at a time — what a player seeking around does; requests per second.

Every transfer's status and size are checked. Rounds alternate hub / nginx so that noise from
other work on the machine hits both alike; the median of the rounds is reported, and the ratio
hub / nginx. Because the machine is shared, wall-time rates move a lot between rounds; the CPU
time each server spends (user + system, which includes the kernel's sendfile work; the hub's
process with its threads, nginx's master and worker) per GiB sent, or per 1,000 range requests,
is reported too: it does not depend on what else runs.

    python scripts/bench/bench_direct_play.py [--size-mib 1024] [--rounds 5] [--record]

Goal (issue 4): hub ≥ 0.9 × nginx.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import command_line, header, record  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CURL = shutil.which("curl") or "/usr/bin/curl"
FILE_NAME = "Bench.Movie.2020.1080p.WEB-DL.H.264-BENCH.ts"
RANGE_SIZE = 1024 * 1024
RANGE_REQUESTS = 256
RANGE_PARALLEL = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_media(folder: Path, size_mib: int) -> Path:
    """A real MPEG-TS (H.264 + AAC, 10 s) repeated up to ``size_mib`` MiB."""
    folder.mkdir(parents=True, exist_ok=True)
    seed = folder.parent / "seed.ts"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=10",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-c:a", "aac", str(seed)],
        check=True,
    )
    block = seed.read_bytes()
    target = folder / FILE_NAME
    with target.open("wb") as out:
        written = 0
        while written < size_mib * 1024 * 1024:
            out.write(block)
            written += len(block)
    seed.unlink()
    target.chmod(0o644)
    return target


def nginx_config(workdir: Path, root: Path, port: int) -> Path:
    conf = workdir / "nginx.conf"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / sub).mkdir(exist_ok=True)
    conf.write_text(f"""
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    types {{ video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
""", encoding="utf-8")
    return conf


def start_nginx(workdir: Path, root: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = nginx_config(workdir, root, port)
    proc = subprocess.Popen([NGINX, "-e", str(workdir / "error.log"), "-p", str(workdir), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"nginx exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit("nginx did not start listening within 10 s")


async def curl(config_lines: list[str], parallel: int) -> tuple[float, list[tuple[int, int]]]:
    """Run one curl with the given transfer configuration; return (seconds, [(status, bytes)])."""
    with tempfile.NamedTemporaryFile("w", suffix=".curlrc", delete=False) as f:
        f.write("\n".join(config_lines) + "\n")
        cfg = f.name
    try:
        t0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            CURL, "--silent", "--show-error", "--parallel", "--parallel-immediate",
            "--parallel-max", str(parallel), "--config", cfg,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        elapsed = time.perf_counter() - t0
    finally:
        os.unlink(cfg)
    if proc.returncode != 0:
        raise SystemExit(f"curl failed ({proc.returncode}): {err.decode(errors='replace')}")
    results = []
    for line in out.decode().splitlines():
        code, size = line.split()
        results.append((int(code), int(size)))
    return elapsed, results


def whole_file_lines(url: str, clients: int) -> list[str]:
    lines = []
    for _ in range(clients):
        lines += [f'url = "{url}"', 'output = "/dev/null"', 'write-out = "%{http_code} %{size_download}\\n"']
    return lines


def range_lines(url: str, offsets: list[int]) -> list[str]:
    lines = []
    for start in offsets:
        lines += [f'url = "{url}"', f'range = "{start}-{start + RANGE_SIZE - 1}"', 'output = "/dev/null"',
                  'write-out = "%{http_code} %{size_download}\\n"']
    return lines


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pids: list[int] | None) -> float:
    """CPU seconds (user + system) used so far by this process (``None``) or by ``pids`` and
    their children (nginx's master and workers)."""
    if pids is None:
        t = os.times()
        return t.user + t.system
    total = 0.0
    wanted = set(pids)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid in wanted or ppid in wanted:
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


async def measure(urls: dict[str, str], size: int, rounds: int, client_counts: list[int],
                  cpu_of: dict[str, list[int] | None]) -> dict:
    rng = random.Random(4)
    offsets = [rng.randrange(0, size - RANGE_SIZE) for _ in range(RANGE_REQUESTS)]
    results: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}

    async def timed(name: str, lines: list[str], parallel: int) -> tuple[float, list, float]:
        before = process_cpu(cpu_of[name])
        elapsed, got = await curl(lines, parallel)
        return elapsed, got, process_cpu(cpu_of[name]) - before

    # Warm the page cache (both servers read the same file) and both servers.
    for url in urls.values():
        await curl(whole_file_lines(url, 1), 1)
    for r in range(rounds):
        order = list(urls.items()) if r % 2 == 0 else list(reversed(urls.items()))
        for clients in client_counts:
            for name, url in order:
                elapsed, got, used = await timed(name, whole_file_lines(url, clients), clients)
                assert got == [(200, size)] * clients, (name, got)
                label = f"whole file, {clients} client{'s' if clients > 1 else ''}"
                results.setdefault(f"{label} (MiB/s)", {}).setdefault(name, []).append(clients * size / elapsed / 2**20)
                cpu.setdefault(f"{label} (CPU ms per GiB sent)", {}).setdefault(name, []).append(
                    1000 * used / (clients * size / 2**30))
        for name, url in order:
            elapsed, got, used = await timed(name, range_lines(url, offsets), RANGE_PARALLEL)
            assert got == [(206, RANGE_SIZE)] * RANGE_REQUESTS, (name, got[:3])
            label = f"{RANGE_REQUESTS} × 1 MiB ranges, {RANGE_PARALLEL} at a time"
            results.setdefault(f"{label} (requests/s)", {}).setdefault(name, []).append(RANGE_REQUESTS / elapsed)
            cpu.setdefault(f"{label} (CPU ms per 1,000 requests)", {}).setdefault(name, []).append(
                1000 * used / RANGE_REQUESTS * 1000)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    return {"rates": results, "cpu": cpu}


async def run(size_mib: int, rounds: int, client_counts: list[int], keep: Path | None) -> dict:
    from omnimedia.core.bootstrap import prepare
    from omnimedia.core.hub import Hub

    work = Path(tempfile.mkdtemp(prefix="bench_direct_play_"))
    work.chmod(0o755)  # nginx's worker drops to an unprivileged user when started as root
    nginx = None
    hub = None
    try:
        media = work / "media"
        path = make_media(media, size_mib)
        size = path.stat().st_size
        config_dir = work / "config"
        config_dir.mkdir()
        (config_dir / "configuration.yaml").write_text(
            "hub:\n  host: 127.0.0.1\n  port: 0\n  log_level: warning\n"
            f"libraries:\n  - path: {str(media)!r}\n    type: movies\n"
            "discovery:\n  zeroconf: false\n  advertise: false\n",
            encoding="utf-8",
        )
        config, plugins, errors = prepare(config_dir)
        if errors or config is None:
            raise SystemExit("configuration errors: " + "; ".join(map(str, errors)))
        hub = Hub(config, plugins)
        await hub.start(serve_http=True, initial_scan=False, watch=False, discovery=False, background=False)
        await hub.library.scan()
        items, _ = await hub.library.list_items(limit=5)
        assert len(items) == 1 and items[0]["status"] == "ok", items
        host, port = hub.http.bound_address()
        nginx_dir = work / "nginx"
        nginx_dir.mkdir()
        nginx, nginx_port = start_nginx(nginx_dir, media)
        urls = {
            "hub": f"http://{host}:{port}/api/stream/{items[0]['id']}",
            "nginx": f"http://127.0.0.1:{nginx_port}/{FILE_NAME}",
        }
        results = await measure(urls, size, rounds, client_counts, {"hub": None, "nginx": [nginx.pid]})
        return {"size": size, **results}
    finally:
        if hub is not None:
            await hub.stop()
        if nginx is not None:
            nginx.terminate()
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def table(results: dict, ratio_label: str, higher_is_better: bool) -> str:
    rows = [f"| scenario | hub (median) | nginx (median) | {ratio_label} | hub rounds | nginx rounds |",
            "|---|---:|---:|---:|---|---|"]
    for scenario, by_server in results.items():
        hub, nginx = statistics.median(by_server["hub"]), statistics.median(by_server["nginx"])
        ratio = hub / nginx if higher_is_better else nginx / hub
        rows.append(
            f"| {scenario} | {hub:,.0f} | {nginx:,.0f} | **{ratio:.2f}×** | "
            f"{', '.join(f'{v:,.0f}' for v in by_server['hub'])} | {', '.join(f'{v:,.0f}' for v in by_server['nginx'])} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the served file (MiB)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--clients", default="1,4", help="concurrent whole-file downloads, comma-separated")
    parser.add_argument("--record", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    data = asyncio.run(run(args.size_mib, args.rounds, counts, None))
    text = (table(data["rates"], "hub / nginx", True) + "\n\nServer CPU (lower is better; the ratio is "
            "nginx / hub, so above 1 means the hub needs less):\n\n" + table(data["cpu"], "nginx / hub", False))
    summary = f"File: {data['size'] / 2**20:,.0f} MiB MPEG-TS, loopback, curl {'/'.join(map(str, counts))} clients.\n\n"
    print(summary + text)
    if args.record:
        record("direct_play", header(command_line()) + "\n" + summary + text + "\n")
        print("recorded in docs/benchmarks.md")


if __name__ == "__main__":
    main()
