"""Many threads and processes asking for the same picture at once: each step runs once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from desktop_app.core.errors import HuewallError, NetworkError
from desktop_app.core.models import DaysAgo, Wallpaper
from desktop_app.core.palette.ai import AIAnalyser, AIConfig
from desktop_app.core.palette.local import LocalAnalyser
from desktop_app.core.service import WallpaperService
from tests.conftest import PHOTOS, TEST_KEY, CountingAnalyser, wait_until
from tests.support.bing_server import BingStandIn
from tests.support.openai_server import FakeOpenAIServer

Make = Callable[..., WallpaperService]
RES = "1366x768"


def _storm(
    make: Make, services: int, threads_each: int, day: int = 0
) -> list[Wallpaper | BaseException]:
    """Start every caller at once (a barrier) from several services, as separate processes would."""
    instances = [make() for _ in range(services)]
    barrier = threading.Barrier(services * threads_each)

    def call(service: WallpaperService) -> Wallpaper | BaseException:
        barrier.wait()
        try:
            return service.get("en-US", DaysAgo(day), RES)
        except HuewallError as exc:
            return exc

    with ThreadPoolExecutor(services * threads_each) as pool:
        futures = [pool.submit(call, s) for s in instances for _ in range(threads_each)]
        return [f.result(timeout=60) for f in futures]


def test_a_thread_storm_costs_one_request_one_download_one_analysis(
    bing: BingStandIn, make_service: Make
) -> None:
    analyser = CountingAnalyser(LocalAnalyser())
    results = _storm(lambda: make_service(analyser=analyser), services=4, threads_each=8)
    assert all(isinstance(r, Wallpaper) for r in results), results
    assert len({r.image_path for r in results if isinstance(r, Wallpaper)}) == 1
    assert len({r.palette for r in results if isinstance(r, Wallpaper)}) == 1
    assert bing.metadata_count() == 1
    assert bing.image_count() == 1
    assert analyser.calls == 1


def test_unrelated_pictures_do_not_wait_for_each_other(
    bing: BingStandIn, make_service: Make
) -> None:
    service = make_service()
    service.week("en-US")
    bing.set_fault("image", "stall", times=1)
    stalled: list[Wallpaper | BaseException] = []
    slow = threading.Thread(target=lambda: stalled.append(service.get("en-US", DaysAgo(0), RES)))
    slow.start()
    try:
        assert bing.wait_for_stall(10)
        # While today's download is stuck halfway, yesterday's goes through.
        assert service.get("en-US", DaysAgo(1), RES).image.photo == PHOTOS[1]
    finally:
        bing.release()
        slow.join(30)
    assert isinstance(stalled[0], Wallpaper)


@pytest.mark.timeout(60)
def test_waiters_share_the_workers_failure_instead_of_retrying(
    bing: BingStandIn, make_service: Make, cache_dir: Path
) -> None:
    service = make_service(read_timeout=2.0)
    service.week("en-US")
    photo = PHOTOS[0]
    key = f"download:{photo}:{RES}"
    bing.set_fault("image", "hang", times=1)
    results: list[Wallpaper | BaseException] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            answer: Wallpaper | BaseException = service.get("en-US", DaysAgo(0), RES)
        except HuewallError as exc:
            answer = exc
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    try:
        assert bing.wait_for_hang(10)
        wait_until(
            lambda: len(results) == 10 or service._locks.users(key) == 10, what="all callers queued"
        )
        for t in threads:
            t.join(30)
    finally:
        bing.release()
    assert len(results) == 10
    assert all(isinstance(r, NetworkError) for r in results), results
    assert len({str(r) for r in results}) == 1
    assert bing.image_count() == 1, "waiters retried instead of sharing the failure"
    # The next request after the failure tries again, and succeeds.
    assert service.get("en-US", DaysAgo(0), RES).image.photo == photo
    assert bing.image_count() == 2


FETCH = [
    sys.executable,
    "-m",
    "desktop_app",
    "fetch",
    "--locale",
    "en-US",
    "--resolution",
    RES,
    "--json",
]


@pytest.mark.timeout(120)
def test_processes_and_threads_together_cost_one_of_each(
    bing: BingStandIn, openai_server: FakeOpenAIServer, make_service: Make, cache_dir: Path
) -> None:
    """Four CLI processes and eight threads start together while the download is held back:
    one metadata request, one download and one AI call in all."""
    bing.set_fault("image", "stall", times=1)
    env = dict(os.environ)  # HUEWALL_BING_URL and OPENAI_* point at the stand-ins
    processes = [
        subprocess.Popen(FETCH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(4)
    ]
    ai = AIAnalyser(AIConfig(base_url=openai_server.base_url, api_key=TEST_KEY))
    service = make_service(analyser=ai)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(service.get, "en-US", DaysAgo(0), RES) for _ in range(8)]
        assert bing.wait_for_stall(60)
        bing.release()
        answers = [f.result(timeout=60) for f in futures]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outputs.append(json.loads(out))
    assert bing.metadata_count() == 1
    assert bing.image_count() == 1
    assert openai_server.count == 1
    assert {o["image_path"] for o in outputs} == {str(answers[0].image_path)}
    assert {o["palette_source"] for o in outputs} == {a.palette.source for a in answers} == {"ai"}
    colours = {json.dumps(o["colors"], sort_keys=True) for o in outputs}
    colours |= {json.dumps(a.palette.palette.to_dict(), sort_keys=True) for a in answers}
    assert len(colours) == 1
