"""Benchmark: a warm ``get`` next to a bare diskcache get, and the counts of a storm.

Run from a checkout:  python benchmarks/warm_get.py  [--calls N]

It starts the test suite's Bing and OpenAI-compatible stand-ins on loopback, so it
needs no network. Figures are medians and p99 over many calls, and ratios to the floor
(a bare ``diskcache.Cache.get`` of one stored entry), because shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import diskcache  # noqa: E402

from desktop_app.core.bing import BingClient  # noqa: E402
from desktop_app.core.locks import KeyedLocks  # noqa: E402
from desktop_app.core.models import DaysAgo  # noqa: E402
from desktop_app.core.palette.ai import AIAnalyser, AIConfig  # noqa: E402
from desktop_app.core.palette.local import LocalAnalyser  # noqa: E402
from desktop_app.core.service import WallpaperService  # noqa: E402
from desktop_app.core.store import Store  # noqa: E402
from tests.support.bing_server import BingStandIn  # noqa: E402
from tests.support.openai_server import FakeOpenAIServer  # noqa: E402

PHOTOS = ["Storm", "Lake", "Fox", "Dune", "Kelp", "Tulip", "Petra", "Bamboo"]
RES = "1366x768"


def timings(call: Callable[[], object], n: int) -> list[float]:
    """Per-call wall times in microseconds."""
    out = []
    for _ in range(n):
        start = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def summary(name: str, values: list[float], floor: float | None = None) -> str:
    ordered = sorted(values)
    median = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    ratio = f"{median / floor:6.2f}x" if floor else "  floor"
    return f"  {name:<44} median {median:8.1f} us   p99 {p99:8.1f} us   {ratio}"


def service_for(cache: Path, bing: BingStandIn, analyser: object | None = None) -> WallpaperService:
    local = LocalAnalyser()
    return WallpaperService(
        Store(cache),
        KeyedLocks(cache / "locks"),
        BingClient(bing.base_url),
        analyser or local,  # type: ignore[arg-type]
        local,
    )


def bench_warm(calls: int, workdir: Path, bing: BingStandIn) -> None:
    cache = workdir / "warm"
    service = service_for(cache, bing)
    service.get("en-US", DaysAgo(0), RES)

    bare = diskcache.Cache(str(workdir / "bare"))
    bare.set("week:en-US", {"market": "en-US", "entries": [{"title": "x" * 200}] * 8})
    bare.get("week:en-US")
    floor_values = timings(lambda: bare.get("week:en-US"), calls)
    floor = statistics.median(floor_values)

    print(f"Warm lookups ({calls} calls each; lower is better; ratio = median / floor)")
    print(summary("bare diskcache get of one stored entry", floor_values))
    print(
        summary(
            "service.get, warm, same process",
            timings(lambda: service.get("en-US", DaysAgo(0), RES), calls),
            floor,
        )
    )

    def from_store() -> None:
        # No in-process memo: the answer is rebuilt from the store, as another process's
        # first lookup is (three small diskcache reads and a stat).
        service._answers.clear()
        service._weeks.clear()
        service.get("en-US", DaysAgo(0), RES)

    print(summary("service.get, answer rebuilt from the store", timings(from_store, calls), floor))
    opens = timings(lambda: service_for(cache, bing), max(20, calls // 200))
    print(summary("opening the store and building a service", opens, floor))


def bench_storm(
    workdir: Path, bing: BingStandIn, openai: FakeOpenAIServer, threads: int, processes: int
) -> None:
    cache = workdir / "storm"
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "XDG_CONFIG_HOME": str(workdir / "config"),
        "HUEWALL_BING_URL": bing.base_url,
        "OPENAI_BASE_URL": openai.base_url,
        "OPENAI_API_KEY": "sk-benchmark",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    bing.reset_counts()
    bing.set_fault("image", "stall", times=1)  # hold the download so everyone piles up
    cmd = [sys.executable, "-m", "desktop_app", "fetch", "-l", "en-US", "-r", RES, "--json"]
    procs = [
        subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    # The same configuration the CLI processes read from the environment.
    analyser = AIAnalyser(AIConfig(base_url=openai.base_url, api_key="sk-benchmark"))
    service = service_for(cache / "huewall", bing, analyser)
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(service.get, "en-US", DaysAgo(0), RES) for _ in range(threads)]
        bing.wait_for_stall(60)
        bing.release()
        results = [f.result(timeout=120) for f in futures]
    outs = [p.communicate(timeout=120) for p in procs]
    failed = [err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode != 0]
    sources = {r.palette.source for r in results}
    sources |= {
        json.loads(out)["palette_source"]
        for p, (out, _) in zip(procs, outs, strict=True)
        if p.returncode == 0
    }
    answered = threads + processes - len(failed)
    print(
        f"\nStorm: {threads} threads + {processes} CLI processes ask for the same new day at once"
    )
    print(f"  {'metadata requests at Bing':<44} {bing.metadata_count():>4}   (want 1)")
    print(f"  {'picture downloads at Bing':<44} {bing.image_count():>4}   (want 1)")
    print(f"  {'AI calls at the OpenAI-compatible server':<44} {openai.count:>4}   (want 1)")
    print(f"  {'callers answered':<44} {answered:>4}   of {threads + processes}")
    print(f"  {'palette sources seen':<44} {', '.join(sorted(sources))}")
    for err in failed:
        print(f"  a process failed: {err.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, BingStandIn() as bing, FakeOpenAIServer() as openai:
        bing.add_week("en-US", PHOTOS)
        workdir = Path(tmp)
        bench_warm(args.calls, workdir, bing)
        bench_storm(workdir, bing, openai, args.threads, args.processes)


if __name__ == "__main__":
    main()
