"""Downloads against a scripted HTTP server on 127.0.0.1: resume, retries, mirrors, checksums, fallbacks."""

from __future__ import annotations

import dataclasses
import hashlib
import os

import pytest
from fixtures_archives import run_cli, trust_fixture_files
from fixtures_cub import MINI_IDS, build_cub_tgz, mini_counts
from fixtures_http import closed_port, scripted_server

from daml_cli.data import acquire, download as download_module, sources
from daml_cli.data.download import DownloadError, RetryPolicy, download
from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers import cub as cub_module
from daml_cli.data.preparers.base import ExpectedCounts
from daml_cli.errors import DataError

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=5)


@pytest.fixture
def server():
    with scripted_server() as state:
        yield state


def _get(urls, dest, **kwargs):
    kwargs.setdefault("retry", FAST)
    return download(urls, dest, **kwargs)


def test_download_verifies_and_renames(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    dest = _get([server.url("/f.bin")], tmp_path / "f.bin", sha256=SHA, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "f.bin.part").exists()
    assert server.requests("/f.bin") == [None]


def test_dropped_connection_is_resumed_with_a_range_request(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.behaviour["/f.bin"] = "drop"
    delays: list[float] = []
    dest = _get([server.url("/f.bin")], tmp_path / "f.bin", sha256=SHA, size=len(PAYLOAD), sleep=delays.append)
    assert dest.read_bytes() == PAYLOAD
    first, second = server.requests("/f.bin")
    assert first is None and second == f"bytes={len(PAYLOAD) // 2}-"  # resumed where the drop happened
    assert len(delays) == 1


def test_partial_file_from_an_earlier_run_is_resumed(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:1234])
    dest = _get([server.url("/f.bin")], tmp_path / "f.bin", md5=hashlib.md5(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD and server.requests("/f.bin") == ["bytes=1234-"]


def test_complete_part_of_unknown_size_is_kept_when_the_server_has_nothing_more(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)  # an earlier run got every byte but did not rename
    dest = _get([server.url("/f.bin")], tmp_path / "f.bin", sha256=SHA)  # no size known: ask for the rest
    assert dest.read_bytes() == PAYLOAD
    assert server.requests("/f.bin") == [f"bytes={len(PAYLOAD)}-"]  # answered 416; the checksum decided


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.behaviour["/f.bin"] = "ignore-range"
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:5000])
    dest = _get([server.url("/f.bin")], tmp_path / "f.bin", sha256=SHA)
    assert dest.read_bytes() == PAYLOAD  # the 200 answer replaced the part instead of being appended


def test_404_falls_back_to_the_next_mirror_without_retrying(server, tmp_path):
    server.files["/good.bin"] = PAYLOAD
    dest = _get([server.url("/missing.bin"), server.url("/good.bin")], tmp_path / "f.bin", sha256=SHA)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests("/missing.bin") == [None] and server.requests("/good.bin") == [None]


def test_checksum_mismatch_falls_back_and_finally_fails(server, tmp_path):
    server.files["/bad.bin"] = PAYLOAD[:-1] + b"?"
    server.files["/good.bin"] = PAYLOAD
    dest = _get([server.url("/bad.bin"), server.url("/good.bin")], tmp_path / "f.bin", sha256=SHA)
    assert dest.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match=f"sha256 is [0-9a-f]{{64}}, expected {SHA}"):
        _get([server.url("/bad.bin")], tmp_path / "g.bin", sha256=SHA)
    assert not (tmp_path / "g.bin").exists() and not (tmp_path / "g.bin.part").exists()


def test_server_errors_are_retried_with_exponential_back_off(server, tmp_path):
    server.behaviour["/down.bin"] = 503
    delays: list[float] = []
    policy = RetryPolicy(attempts=4, base_delay=0.5, max_delay=1.5, timeout=5)
    with pytest.raises(DownloadError, match="gave up after 4 attempts"):
        download([server.url("/down.bin")], tmp_path / "f.bin", retry=policy, sleep=delays.append)
    assert delays == [0.5, 1.0, 1.5]  # doubled each time, capped at max_delay; no sleep after the last try
    assert len(server.requests("/down.bin")) == 4


def test_transient_error_then_success(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.behaviour["/f.bin"] = "flaky-500"
    dest = _get([server.url("/f.bin")], tmp_path / "f.bin", sha256=SHA, sleep=lambda s: None)
    assert dest.read_bytes() == PAYLOAD and len(server.requests("/f.bin")) == 2


def test_html_page_and_wrong_size_are_refused(server, tmp_path):
    server.behaviour["/login.bin"] = "html"
    server.files["/short.bin"] = PAYLOAD[:1000]
    with pytest.raises(DownloadError) as caught:
        _get([server.url("/login.bin"), server.url("/short.bin")], tmp_path / "f.bin", size=len(PAYLOAD))
    assert "HTML page" in caught.value.message and "offers 1,000 bytes, expected 300,000" in caught.value.message


def test_unreachable_host_moves_on_at_once(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    delays: list[float] = []
    urls = [f"http://127.0.0.1:{closed_port()}/f.bin", server.url("/f.bin")]
    dest = _get(urls, tmp_path / "f.bin", sha256=SHA, sleep=delays.append)
    assert dest.read_bytes() == PAYLOAD and delays == []


def test_existing_verified_file_is_not_downloaded_again(server, tmp_path):
    (tmp_path / "f.bin").write_bytes(PAYLOAD)
    _get([server.url("/f.bin")], tmp_path / "f.bin", sha256=SHA)
    assert server.log == []
    (tmp_path / "f.bin").write_bytes(b"stale")  # an unverifiable leftover is replaced
    server.files["/f.bin"] = PAYLOAD
    assert _get([server.url("/f.bin")], tmp_path / "f.bin", sha256=SHA).read_bytes() == PAYLOAD


# --- dataset level: layouts, fallbacks and the manual-download message ---

@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(download_module, "DEFAULT_RETRY", FAST)


def _point_at(monkeypatch, dataset: str, urls: dict[str, tuple[str, ...]]) -> None:
    entry = sources.SOURCES[dataset]
    files = tuple(dataclasses.replace(f, urls=urls.get(f.key, ())) for f in entry.files)
    monkeypatch.setitem(sources.SOURCES, dataset, dataclasses.replace(entry, files=files))


def test_cars_download_falls_back_to_the_next_layout(server, tmp_path, monkeypatch, fast_retries):
    server.files["/car_ims.tgz"] = b"ims"
    server.files["/cars_annos.mat"] = b"annos"
    _point_at(monkeypatch, "cars", {"kaggle": (server.url("/gone.zip"),), "car_ims": (server.url("/car_ims.tgz"),),
                                    "cars_annos": (server.url("/cars_annos.mat"),)})
    entry = sources.SOURCES["cars"]
    files = tuple(dataclasses.replace(f, sha256=None, md5=None, size=None) for f in entry.files)
    monkeypatch.setitem(sources.SOURCES, "cars", dataclasses.replace(entry, files=files))
    got = acquire.from_downloads(sources.SOURCES["cars"], tmp_path / "downloads")
    assert got.layout.name == "car_ims"
    assert got.paths["car_ims"].read_bytes() == b"ims" and server.requests("/gone.zip") == [None]


def test_no_host_answers_says_what_to_download_by_hand(server, tmp_path, monkeypatch, fast_retries):
    _point_at(monkeypatch, "cars", {"kaggle": (server.url("/a.zip"),), "car_ims": (server.url("/b.tgz"),),
                                    "cars_annos": (server.url("/c.mat"),), "cars_train": (server.url("/d"),),
                                    "cars_test": (server.url("/e"),), "devkit": (server.url("/f"),),
                                    "test_labels": (server.url("/g"),)})
    with pytest.raises(DataError) as caught:
        acquire.from_downloads(sources.SOURCES["cars"], tmp_path / "downloads")
    text = caught.value.one_line()
    assert "could not download Cars196" in text and "HTTP 404" in text
    for name in ("car_ims.tgz", "cars_annos.mat", "cars_train.tgz", "cars_test.tgz", "car_devkit.tgz",
                 "cars_test_annos_withlabels.mat", "kaggle.com/datasets/jutrera", "--archive"):
        assert name in text
    assert "d5c8f0aa497503f355e17dc7886c3f14" in text  # the published checksum, to check a hand download


def test_inshop_has_no_download_and_explains(tmp_path):
    with pytest.raises(DataError) as caught:
        acquire.from_downloads(sources.SOURCES["inshop"], tmp_path / "downloads")
    text = caught.value.one_line()
    assert "img.zip" in text and "list_eval_partition.txt" in text and "--archive" in text


def test_prepare_cub_downloads_from_a_mirror_and_skips_the_second_time(server, tmp_path, monkeypatch, capsys,
                                                                      fast_retries):
    archive = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS)
    server.files["/CUB_200_2011.tgz"] = archive.read_bytes()
    server.behaviour["/CUB_200_2011.tgz"] = "drop"
    _point_at(monkeypatch, "cub", {"archive": (server.url("/dead.tgz"), server.url("/CUB_200_2011.tgz"))})
    trust_fixture_files(monkeypatch, "cub", {"archive": archive})
    counts = mini_counts()
    monkeypatch.setattr(cub_module, "EXPECTED", ExpectedCounts({s: n for s, (n, _) in counts.items()}))
    root = tmp_path / "root"
    code, _, err = run_cli(["prepare", "cub", str(root)], capsys)
    assert code == 0, err
    assert len(read_manifest(root / "cub").rows) == len(MINI_IDS)
    assert (root / "downloads" / "CUB_200_2011.tgz").read_bytes() == archive.read_bytes()
    assert server.requests("/dead.tgz") == [None] and len(server.requests("/CUB_200_2011.tgz")) == 2
    code, out, _ = run_cli(["prepare", "cub", str(root)], capsys)
    assert code == 0 and "already prepared" in out and len(server.log) == 3
