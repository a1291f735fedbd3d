"""The model and the gallery index, loaded once; one call embeds a batch of images and searches the gallery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from daml_cli.data.transforms import eval_transform
from daml_cli.index.metadata import IndexMetadata
from daml_cli.index.store import search
from daml_cli.inference.loading import LoadedModel
from daml_cli.inference.retrieval import gallery_path, open_gallery, similarity_scores


@dataclass(frozen=True)
class Query:
    """One uploaded image, already preprocessed (C×H×W float), and how many results it wants."""

    name: str
    pixels: torch.Tensor
    k: int


class SearchEngine:
    """Embeds preprocessed images with the index's model and answers with `retrieve --json`'s structure."""

    def __init__(self, loaded: LoadedModel, index: Any, metadata: IndexMetadata) -> None:
        self.loaded = loaded
        self.index = index
        self.metadata = metadata
        self.transform = eval_transform(metadata.preprocessing or loaded.preprocessing)
        self.gallery = [gallery_path(metadata, path) for path in metadata.paths]
        self.names = metadata.names_by_label()  # the sidecar's class_names (label -> name), as `retrieve` reads them

    @classmethod
    def open(cls, index_path: Path | str, device: str = "auto", threads: int = 0) -> SearchEngine:
        """Load the model the index names and the index (DamlError when either is missing or mismatched).

        `threads` > 0 caps torch's CPU threads: on a machine shared with other work, one thread per pass
        avoids the spinning of an oversubscribed thread pool (see docs/results/performance.md).
        """
        if threads > 0:
            torch.set_num_threads(threads)
        return cls(*open_gallery(index_path, device))

    @property
    def count(self) -> int:
        return len(self.gallery)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """A 3×H×W uint8 image to the model's input (the evaluation transform of the index)."""
        return self.transform(image)

    @torch.inference_mode()
    def embed(self, pixels: Sequence[torch.Tensor]) -> np.ndarray:
        """One forward pass over the stacked images: N×D float32 embeddings."""
        batch = torch.stack(list(pixels)).to(self.loaded.device)
        return self.loaded.model(batch).float().cpu().numpy()

    def answer(self, queries: Sequence[Query]) -> list[dict[str, Any]]:
        """For each query, ``{"query", "results": [{"rank", "id", "path", "label", "class_name", "score"}]}``."""
        embeddings = self.embed([query.pixels for query in queries])
        # The flat index is searched on the CPU: cloning it to the GPU for every batch would cost more than it saves.
        distances, ids = search(self.index, embeddings, max(query.k for query in queries), use_gpu=False)
        scores = similarity_scores(distances, self.loaded.model.normalize)
        return [self._hits(query, ids[row], scores[row]) for row, query in enumerate(queries)]

    def _hits(self, query: Query, ids: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        results = []
        for gallery_id, score in zip(ids.tolist(), scores.tolist()):
            if gallery_id < 0 or len(results) == query.k:
                continue
            label = None if self.metadata.labels is None else int(self.metadata.labels[gallery_id])
            results.append({
                "rank": len(results) + 1, "id": int(gallery_id), "path": self.gallery[gallery_id], "label": label,
                "class_name": self.class_name(gallery_id), "score": round(float(score), 6),
            })
        return {"query": query.name, "results": results}

    def class_name(self, gallery_id: int) -> str | None:
        """The gallery entry's class name when the index records class names, else None."""
        if self.metadata.labels is None:
            return None
        return self.names.get(int(self.metadata.labels[gallery_id]))
