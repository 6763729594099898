"""DVR recording benchmark: N concurrent recordings at the tuner count, bytes written against bytes
served, and the recorder's cost against a plain HTTP download of the same streams.

1. Starts the HDHomeRun simulator (``tests/hdhomerun_sim.py``) in this process with ``--tuners``
   tuners (default 4) and as many channels (H.264 HD, H.264 SD and MPEG-2 SD in turn, made once by
   ffmpeg and cached), paced at ``--speed`` times real time (default 25: the simulator's channels
   are small, ≈ 0.2–0.7 Mbit/s, so ×25 gives ≈ 5–17 Mbit/s per stream, the range of real ATSC and
   cable channels).
2. *recorder*: a child process runs one :class:`omnimedia.core.dvr.recorder.Recorder` per channel,
   all at once, for ``--seconds`` (default 30) of wall time: each asks the device for
   ``duration`` = that time (in stream seconds), and its ``stop_at`` is one second later, so the
   device ends every stream and each recording must hold exactly what was sent.
3. *plain download*: a second child process reads the same N channels the same way (httpx
   streaming, the same chunks) and writes each with a buffered ``file.write`` on the event loop,
   ``fsync`` at the end — the least a recorder could do.
4. Steps 2 and 3 are one round; ``--rounds`` (default 3) rounds alternate which goes first, so
   the shared machine's noise hits both alike. Medians (min … max) are reported.

Both children open streams through the same small httpx TunerStream (404/503/connection errors
mapped as the HDHomeRun plugin maps them), so the difference is the recorder itself: batching,
worker-thread writes, packet alignment, stall watchdog, progress updates. Each child reports its
CPU time (user + system, all threads, from just before the streams open to just after the files
are closed), its peak RSS and its RSS before the streams opened. Bytes served come from the
simulator's ``stream_log``; bytes written from the files. Every stream must match exactly, or the
script exits 1.

    python scripts/bench/bench_dvr_recording.py [--tuners 4] [--seconds 30] [--speed 25] [--rounds 3] [--record]

``--record`` writes the table into docs/benchmarks.md (block ``bench:dvr-recording``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _record import command_line, header, record  # noqa: E402

#: Seconds the recorder's stop_at lies after the device's end of the stream.
STOP_SLACK = 1.0


# -- the children --------------------------------------------------------------------------------

def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _child(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from omnimedia.core.dvr.recorder import Recorder
    from omnimedia.core.dvr.types import TunerBusy, TunerStream, TunerUnavailable, UnknownChannel

    class HttpStream(TunerStream):
        def __init__(self, response: httpx.Response, url: str) -> None:
            self.response, self.url = response, url

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._chunks()

        async def _chunks(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self.response.aiter_raw(64 * 1024):
                    yield chunk
            except httpx.HTTPError as err:
                raise TunerUnavailable(f"{self.url}: {err}") from err

        async def close(self) -> None:
            await self.response.aclose()

    channels = args.channels.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    duration = args.seconds * args.speed  # stream seconds
    limits = httpx.Limits(max_connections=len(channels) + 2, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None), limits=limits) as client:

        async def open_stream(number: str) -> HttpStream:
            url = f"{args.base}/auto/v{number}"
            try:
                resp = await client.send(client.build_request("GET", url, params={"duration": duration}), stream=True)
            except httpx.TransportError as err:
                raise TunerUnavailable(f"{url}: {err!r}") from err
            if resp.status_code != 200:
                await resp.aclose()
                kind = {404: UnknownChannel, 503: TunerBusy}.get(resp.status_code, TunerUnavailable)
                raise kind(f"{url}: HTTP {resp.status_code}")
            return HttpStream(resp, url)

        rss_before = _rss_kib()
        cpu0, t0 = _cpu(), time.perf_counter()
        results: dict[str, Any] = {}
        if args.child == "record":
            updates = {"n": 0}

            async def on_update(_fields: dict[str, Any]) -> None:
                updates["n"] += 1

            stop_at = time.time() + args.seconds + STOP_SLACK
            recorders = [
                Recorder({"id": i, "title": f"bench {number}", "channel": number}, folder=out / number,
                         open_stream=lambda n=number: open_stream(n), stop_at=stop_at, stall_timeout=10,
                         reconnect_delay=2, on_update=on_update)
                for i, number in enumerate(channels)
            ]
            done = await asyncio.gather(*(r.run() for r in recorders))
            for number, res in zip(channels, done, strict=True):
                results[number] = {"state": res["state"], "parts": len(res["parts"]), "size": res["size"],
                                   "message": res["message"]}
            extra = {"updates": updates["n"]}
        else:
            async def download(number: str) -> dict[str, Any]:
                stream = await open_stream(number)
                path = out / f"{number}.ts"
                size = 0
                try:
                    with open(path, "wb") as fh:
                        async for chunk in stream:
                            fh.write(chunk)
                            size += len(chunk)
                        fh.flush()
                        os.fsync(fh.fileno())
                finally:
                    await stream.close()
                return {"state": "done", "parts": 1, "size": size, "message": None}

            done = await asyncio.gather(*(download(n) for n in channels))
            results = dict(zip(channels, done, strict=True))
            extra = {}
        wall = time.perf_counter() - t0
        cpu = _cpu() - cpu0
    return {
        "streams": results, "wall": wall, "cpu": cpu, "rss_before_kib": rss_before,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, **extra,
    }


# -- the parent ----------------------------------------------------------------------------------

def _channels(n: int) -> list[Any]:
    from tests.hdhomerun_sim import SimChannel

    kinds = [("h264", True), ("h264", False), ("mpeg2video", False)]
    out = []
    for i in range(n):
        codec, hd = kinds[i % len(kinds)]
        out.append(SimChannel(f"{20 + i}.1", f"BENCH-{i + 1}", codec, hd=hd))
    return out


async def _phase(kind: str, sim: Any, channels: list[str], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    first_log = len(sim.stream_log)
    out = work / kind
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).resolve()), "--child", kind, "--base", sim.base_url,
        "--channels", ",".join(channels), "--seconds", str(args.seconds), "--speed", str(args.speed),
        "--out", str(out), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child exited {proc.returncode}:\n{stderr.decode()[-3000:]}")
    report = json.loads(stdout.decode().strip().splitlines()[-1])
    await asyncio.sleep(0.2)  # the simulator notes the end of each stream
    served: dict[str, int] = {}
    streams: dict[str, int] = {}
    for entry in sim.stream_log[first_log:]:
        served[entry["channel"]] = served.get(entry["channel"], 0) + entry["bytes"]
        streams[entry["channel"]] = streams.get(entry["channel"], 0) + 1
    written: dict[str, int] = {}
    for number in channels:
        files = sorted((out / number).glob("part-*.ts")) if kind == "record" else [out / f"{number}.ts"]
        written[number] = sum(f.stat().st_size for f in files)
    report.update(served=served, written=written, connections=streams)
    return report


async def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from tests.hdhomerun_sim import HDHomeRunSimulator

    sim_channels = _channels(args.tuners)
    sim = HDHomeRunSimulator(tuner_count=args.tuners, channels=sim_channels, speed=args.speed,
                             cache_dir=args.cache_dir)
    await sim.start()
    rounds: dict[str, list[dict[str, Any]]] = {"record": [], "download": []}
    try:
        numbers = [c.number for c in sim_channels]
        for i in range(args.rounds):
            for kind in (("record", "download") if i % 2 == 0 else ("download", "record")):
                rounds[kind].append(await _phase(kind, sim, numbers, args, work))
                shutil.rmtree(work / kind, ignore_errors=True)
    finally:
        await sim.stop()
    return {"channels": sim_channels, **rounds}


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def _spread(values: list[float], fmt: str) -> str:
    """Median, and (min … max) when there is more than one value."""
    text = format(statistics.median(values), fmt)
    if len(values) > 1:
        text += f" ({format(min(values), fmt)} … {format(max(values), fmt)})"
    return text


def _column(reports: list[dict[str, Any]]) -> dict[str, str]:
    written = [sum(r["written"].values()) for r in reports]
    pairs = list(zip(written, reports, strict=True))
    return {
        "bytes": _spread(written, ",.0f"),
        "wall": _spread([r["wall"] for r in reports], ".2f") + " s",
        "mbs": _spread([w / r["wall"] / 1e6 for w, r in pairs], ".2f") + " MB/s",
        "cpu": _spread([r["cpu"] for r in reports], ".2f") + " s",
        "cpu_gb": _spread([r["cpu"] / max(w, 1) * 1e9 for w, r in pairs], ".1f") + " s",
        "rss0": _mib(max(r["rss_before_kib"] for r in reports)),
        "rss": _mib(max(r["peak_rss_kib"] for r in reports)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="N concurrent DVR recordings against a plain download")
    parser.add_argument("--tuners", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--speed", type=float, default=25.0)
    parser.add_argument("--rounds", type=int, default=3, help="recorder/download pairs, alternating order")
    parser.add_argument("--cache-dir", default=None, help="where the simulator's channel media are cached")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--record", action="store_true", help="write the results into docs/benchmarks.md")
    parser.add_argument("--child", choices=("record", "download"), help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--channels", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args))))
        return 0

    started = header(command_line())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="omnimedia-bench-dvr-"))
    try:
        res = asyncio.run(_run(args, work))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    recs, plains = res["record"], res["download"]
    ok = True
    rows = []
    for ch in res["channels"]:
        n = ch.number
        kind = f"{'H.264' if ch.codec == 'h264' else 'MPEG-2'} {'HD' if ch.hd else 'SD'}"
        equal = all(r["served"].get(n, 0) == r["written"].get(n, 0) > 0 for r in recs + plains)
        outcomes = sorted({f"{r['streams'][n]['state']}, {r['streams'][n]['parts']} part(s), "
                           f"{r['connections'].get(n, 0)} connection(s)" for r in recs})
        clean = outcomes == ["finished, 1 part(s), 1 connection(s)"]
        ok = ok and equal and clean
        rec1, plain1 = recs[0], plains[0]
        mbit = rec1["served"][n] * 8 / rec1["wall"] / 1e6
        rows.append(
            f"| {n} ({kind}) | {rec1['served'][n]:,} | {rec1['written'][n]:,} | {plain1['served'][n]:,} | "
            f"{plain1['written'][n]:,} | {'yes' if equal else '**NO**'} | {'; '.join(outcomes)} | {mbit:.1f} |"
        )
    a, b = _column(recs), _column(plains)
    cpu_ratio = [r["cpu"] / p["cpu"] for r, p in zip(recs, plains, strict=True)]
    intro = "\n".join([
        "## DVR recording — `scripts/bench/bench_dvr_recording.py`",
        "",
        "Goal (issue 5): concurrent recordings at the tuner count write exactly the bytes the device "
        "served, compared with a plain HTTP download of the same streams in the same run.",
    ])
    table = "\n".join([
        f"{args.tuners} recordings at once on a simulated {args.tuners}-tuner HDHomeRun, "
        f"{args.seconds:g} s each, streams paced at {args.speed:g}× real time, against a plain HTTP "
        f"download of the same channels for the same time; {args.rounds} round(s), alternating which "
        "goes first (one child process each; the simulator runs in the parent). Bytes served: the "
        "simulator's count per stream; written: the files on disk. Per-stream bytes are from round 1; "
        "*equal* and *recording* cover every round.",
        "",
        "| channel | recorder: served | recorder: written | download: served | download: written | "
        "equal | recording | Mbit/s |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Median (min … max) over the rounds:",
        "",
        "| measure | recorder | plain download |",
        "|---|---|---|",
        f"| bytes written, all streams | {a['bytes']} | {b['bytes']} |",
        f"| wall time | {a['wall']} | {b['wall']} |",
        f"| throughput | {a['mbs']} | {b['mbs']} |",
        f"| CPU time (user + system, all threads) | {a['cpu']} | {b['cpu']} |",
        f"| CPU per GB written | {a['cpu_gb']} | {b['cpu_gb']} |",
        f"| CPU, recorder ÷ download of the same round | {_spread(cpu_ratio, '.2f')} | |",
        f"| RSS before the streams opened (max) | {a['rss0']} | {b['rss0']} |",
        f"| peak RSS (max) | {a['rss']} | {b['rss']} |",
        f"| progress updates (on_update calls) per round | {_spread([r.get('updates', 0) for r in recs], '.0f')} | |",
        "",
        "Every stream of every round: bytes written = bytes served, one part, state finished: "
        + ("**yes**" if ok else "**NO**"),
    ])
    print(intro + "\n\n" + table)
    if args.record:
        path = record("dvr-recording", intro + "\n\n" + started + "\n" + table)
        print(f"recorded in {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
