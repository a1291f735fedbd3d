"""The micro-batcher: concurrent submissions share one call, failures reach only their own requests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from daml_cli.serve.batcher import Batcher


def _run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=30))


def test_concurrent_submissions_share_one_call() -> None:
    calls: list[list[int]] = []
    threads: set[str] = set()

    def double(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        threads.add(threading.current_thread().name)
        return [2 * item for item in items]

    async def scenario() -> list[int]:
        batcher: Batcher[int, int] = Batcher(double, max_batch=32, max_wait_s=0.2)
        await batcher.start()
        try:
            return list(await asyncio.gather(*(batcher.submit(i) for i in range(8))))
        finally:
            await batcher.stop()

    assert _run(scenario()) == [0, 2, 4, 6, 8, 10, 12, 14]
    assert calls == [list(range(8))]  # one forward pass for all eight
    assert threads and all(name.startswith("daml-forward") for name in threads)  # off the event loop


def test_max_batch_splits_and_results_stay_in_order() -> None:
    sizes: list[int] = []

    def identity(items: Sequence[int]) -> list[int]:
        sizes.append(len(items))
        return list(items)

    async def scenario() -> tuple[list[int], int]:
        batcher: Batcher[int, int] = Batcher(identity, max_batch=3, max_wait_s=0.2)
        await batcher.start()
        try:
            results = list(await asyncio.gather(*(batcher.submit(i) for i in range(7))))
            return results, batcher.stats.largest_batch
        finally:
            await batcher.stop()

    results, largest = _run(scenario())
    assert results == list(range(7)) and sizes == [3, 3, 1] and largest == 3


def test_a_failing_batch_fails_its_requests_and_the_loop_goes_on() -> None:
    def fragile(items: Sequence[int]) -> list[int]:
        if -1 in items:
            raise ValueError("bad item")
        return list(items)

    async def scenario() -> int:
        batcher: Batcher[int, int] = Batcher(fragile, max_batch=4, max_wait_s=0.0)
        await batcher.start()
        try:
            with pytest.raises(ValueError, match="bad item"):
                await batcher.submit(-1)
            return await batcher.submit(5)
        finally:
            await batcher.stop()

    assert _run(scenario()) == 5
