"""A DamlError raised inside a DataLoader worker still reaches the user as its own one line."""

from __future__ import annotations

import pytest
import torch

from daml_cli.errors import DataError


class _Broken(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> int:
        raise DataError(f"image {index} is not an image", "replace or remove the file")


def test_worker_error_keeps_only_the_workers_one_line() -> None:
    loader = torch.utils.data.DataLoader(_Broken(), batch_size=1, num_workers=1)
    with pytest.raises(DataError) as caught:
        next(iter(loader))
    assert caught.value.one_line() == "image 0 is not an image (replace or remove the file)"
    assert "Traceback" not in str(caught.value)


def test_ordinary_messages_are_untouched() -> None:
    text = "a message: with a colon\nand a second line"
    assert DataError(text).message == text
