"""Micro-batching: requests arriving within a few milliseconds share one forward pass in one worker thread.

Each `submit` puts its item on an asyncio queue and awaits a future. One loop takes the first waiting item,
collects more until `max_batch` items or `max_wait_s` seconds, then runs `run_batch` on all of them in a
single worker thread (so the event loop keeps accepting requests meanwhile) and resolves every future.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class BatchStats:
    """How the batcher has grouped work so far (reported by ``GET /health``)."""

    batches: int = 0
    queries: int = 0
    largest_batch: int = 0


class Batcher(Generic[Item, Result]):
    """Group concurrent `submit` calls into calls of ``run_batch(items) -> results`` (one result per item)."""

    def __init__(
        self, run_batch: Callable[[Sequence[Item]], Sequence[Result]], max_batch: int = 32, max_wait_s: float = 0.005
    ) -> None:
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError("max_batch must be at least 1 and max_wait_s not negative")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.stats = BatchStats()
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="daml-forward")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def submit(self, item: Item) -> Result:
        if self._queue is None:
            raise RuntimeError("Batcher.start() was not awaited")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _collect(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        batch = [await self._queue.get()]
        deadline = loop.time() + self.max_wait_s
        while len(batch) < self.max_batch:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return [(item, future) for item, future in batch if not future.done()]  # drop requests already gone

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            if not batch:
                continue
            items = [item for item, _ in batch]
            try:
                results = await loop.run_in_executor(self._executor, self.run_batch, items)
            except Exception as error:  # one failed pass fails its requests, never the loop
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.stats.batches += 1
            self.stats.queries += len(items)
            self.stats.largest_batch = max(self.stats.largest_batch, len(items))
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
