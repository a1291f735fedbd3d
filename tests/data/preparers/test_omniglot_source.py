"""Where `daml prepare omniglot` looks for its two zips: --archive, --source, else ROOT/downloads/ — never a
path next to a development checkout — and an error that says where the public zips are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.conftest import cli, one_line_error  # noqa: F401  (cli: the in-process CLI fixture)

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets" / "omniglot"
ZIPS = ("images_background_small1.zip", "images_background_small2.zip")


def test_without_zips_the_error_names_the_public_repository(cli, tmp_path: Path) -> None:
    code, _, err = cli("prepare", "omniglot", tmp_path / "data")
    message = one_line_error(code, err)
    assert "github.com/brendenlake/omniglot" in message
    assert all(name in message for name in ZIPS)
    assert str(tmp_path / "data" / "downloads" / ZIPS[0]) in message  # the default place it looked
    assert "shared" not in message
    assert not (tmp_path / "data" / "omniglot").exists()


@pytest.mark.skipif(not (SHARED / ZIPS[0]).is_file(), reason=f"Omniglot zips not found in {SHARED}")
def test_zips_in_root_downloads_are_used_by_default(cli, tmp_path: Path) -> None:
    downloads = tmp_path / "data" / "downloads"
    downloads.mkdir(parents=True)
    for name in ZIPS:
        os.symlink((SHARED / name).resolve(), downloads / name)
    code, out, err = cli("prepare", "omniglot", tmp_path / "data")
    assert code == 0, err
    assert "2,720" in out and "2,120" in out
