"""FAISS on GPUs: the one place that knows FAISS's GPU k limit and how a flat index is sharded over every GPU.

Used by the gallery index search (`index/store.py`) and by the exact k-NN of the metrics
(`metrics/knn_faiss.py`), so both split the gallery the same way and refuse the same k.
"""

from __future__ import annotations

from typing import Any

GPU_MAX_K = 2048  # FAISS's largest k for a GPU flat (brute-force) search


def shard_over_gpus(faiss: Any, index: Any) -> Any:
    """A copy of `index` split across every visible GPU (each GPU holds a share of the gallery).

    Sharding rather than replicating lets a gallery larger than one GPU's memory be searched; FAISS merges the
    shards' answers. Raises what FAISS raises when a GPU cannot take its share.
    """
    options = faiss.GpuMultipleClonerOptions()
    options.shard = True
    return faiss.index_cpu_to_all_gpus(index, co=options)
