"""`daml retrieve` views: class names from the sidecar, right/wrong marks whenever the query's class is known,
the query's own file left out, "wrote FILE" lines, the old option spellings; the HTML page in headless Chromium
at 1280 px (no horizontal overflow, clean captions) and `daml demo`'s top-5 lines at 80 columns."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from daml_cli.data.manifest import read_manifest
from daml_cli.inference.embedding_job import embed_to_file
from tests.serve.cdp import browser_or_skip


@pytest.fixture(scope="module")
def gallery(tiny_run: Path, digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("gallery") / "gallery.faiss"
    embed_to_file(tiny_run, index.with_suffix(".npz"), digits_root, split="test", index=index, device="cpu")
    return index


def _retrieve(cli, *args) -> tuple[list[dict], str]:
    code, out, err = cli("retrieve", *args, "--device", "cpu", "--json", "-")
    assert code == 0, err
    return json.loads(out), err


def test_gallery_query_is_left_out_and_hits_are_marked(cli, gallery: Path, digits_root: Path) -> None:
    meta = json.loads(Path(f"{gallery}.json").read_text())
    manifest = read_manifest(digits_root / "digits")
    assert meta["class_names"] == {str(row.label): row.class_name for row in manifest.split("test")}
    query = digits_root / "digits" / meta["paths"][123]
    (result,), err = _retrieve(cli, query, "--index", gallery, "-k", "4")
    assert "itself in the gallery: left out of its own results" in err
    assert result["excluded_self"] == [str(query)]
    assert result["query_label"] == meta["labels"][123]
    assert result["query_class"] == meta["class_names"][str(meta["labels"][123])]
    hits = result["results"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4] and str(query) not in [h["path"] for h in hits]
    by_path = {str(digits_root / "digits" / p): label for p, label in zip(meta["paths"], meta["labels"])}
    for hit in hits:
        assert hit["label"] == by_path[hit["path"]]
        assert hit["class_name"] == meta["class_names"][str(hit["label"])]
        assert hit["correct"] == (hit["label"] == meta["labels"][123])

    (kept,), _ = _retrieve(cli, query, "--index", gallery, "-k", "4", "--keep-self")
    assert kept["results"][0]["path"] == str(query) and kept["excluded_self"] == []


def test_copy_of_a_gallery_image_is_recognised_by_its_bytes(cli, gallery: Path, digits_root: Path, tmp_path: Path) -> None:
    meta = json.loads(Path(f"{gallery}.json").read_text())
    copy = tmp_path / "copy.png"
    shutil.copyfile(digits_root / "digits" / meta["paths"][7], copy)
    (result,), err = _retrieve(cli, copy, "--index", gallery, "-k", "3")
    assert result["excluded_self"] == [str(digits_root / "digits" / meta["paths"][7])]
    assert result["query_label"] == meta["labels"][7]
    assert all(h["correct"] is not None for h in result["results"])


def test_manifest_query_and_labels_file(cli, gallery: Path, digits_root: Path, tmp_path: Path) -> None:
    manifest = read_manifest(digits_root / "digits")
    train_row = manifest.split("train")[0]
    (result,), err = _retrieve(cli, digits_root / "digits" / train_row.path, "--index", gallery, "-k", "3")
    assert result["query_label"] == train_row.label and result["excluded_self"] == []
    assert [h["correct"] for h in result["results"]] == [False, False, False]  # train classes are not in the test gallery

    stranger = tmp_path / "new.png"
    Image.new("L", (8, 8), 128).save(stranger)
    (unknown,), _ = _retrieve(cli, stranger, "--index", gallery, "-k", "3")
    assert unknown["query_label"] is None and {h["correct"] for h in unknown["results"]} == {None}
    test_name = manifest.split("test")[0].class_name
    labels = tmp_path / "labels.csv"
    labels.write_text(f"path,class_name\nnew.png,{test_name}\n")
    (known,), _ = _retrieve(cli, stranger, "--index", gallery, "-k", "3", "--query-labels", labels)
    assert known["query_class"] == test_name
    assert [h["correct"] for h in known["results"]] == [h["class_name"] == test_name for h in known["results"]]


def test_reports_say_where_they_went(cli, gallery: Path, digits_root: Path, tmp_path: Path) -> None:
    meta = json.loads(Path(f"{gallery}.json").read_text())
    query = digits_root / "digits" / meta["paths"][0]
    page, grid, data = tmp_path / "r.html", tmp_path / "r.png", tmp_path / "r.json"
    code, out, err = cli("retrieve", query, "--index", gallery, "-k", "3", "--html", page, "--grid", grid,
                         "--json", data, "--device", "cpu")
    assert code == 0, err
    for path in (page, grid, data):
        assert f"wrote {path}" in err and path.stat().st_size > 0
    assert meta["class_names"][str(meta["labels"][0])] in out  # the table names classes
    text = page.read_text()
    assert "✓" in text or "✗" in text
    assert "left out of its own results" in text


def test_old_spellings_still_work(cli, gallery: Path, digits_root: Path) -> None:
    meta = json.loads(Path(f"{gallery}.json").read_text())
    query = digits_root / "digits" / meta["paths"][5]
    code, out, err = cli("retrieve", query, "--index", gallery, "--k", "2", "--device", "cpu", "--json")
    assert code == 0, err
    assert len(json.loads(out)[0]["results"]) == 2


def test_sidecar_without_class_names_still_loads(cli, gallery: Path, digits_root: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.faiss"
    shutil.copyfile(gallery, old)
    meta = json.loads(Path(f"{gallery}.json").read_text())
    del meta["class_names"]
    Path(f"{old}.json").write_text(json.dumps(meta))
    (result,), _ = _retrieve(cli, digits_root / "digits" / meta["paths"][0], "--index", old, "-k", "2")
    assert {h["class_name"] for h in result["results"]} == {None}
    assert all(h["correct"] is not None for h in result["results"])


PAGE_LAYOUT = """JSON.stringify({
  scroll: document.documentElement.scrollWidth,
  client: document.documentElement.clientWidth,
  right: Math.max(...[...document.querySelectorAll('figure')].map(f => f.getBoundingClientRect().right)),
  lines: [...document.querySelectorAll('section.query')].map(s => new Set([...s.querySelectorAll('figure')].map(f => Math.round(f.getBoundingClientRect().top))).size),
  captions: [...document.querySelectorAll('section.query')].map(s => [...s.querySelectorAll('figure.hit figcaption')].map(c => c.innerText)),
})"""


def test_html_page_fits_a_1280_px_window_and_captions_read_cleanly(cli, gallery: Path, digits_root: Path, tmp_path: Path) -> None:
    meta = json.loads(Path(f"{gallery}.json").read_text())
    queries = [digits_root / "digits" / meta["paths"][i] for i in (0, 300, 600)]
    page, data = tmp_path / "page.html", tmp_path / "hits.json"
    code, _, err = cli("retrieve", *queries, "--index", gallery, "-k", "9", "--html", page, "--json", data, "--device", "cpu")
    assert code == 0, err
    with browser_or_skip(tmp_path) as browser:
        browser.open_file(page, width=1280)
        shown = json.loads(browser.evaluate(PAGE_LAYOUT))
    assert shown["client"] == 1280 and shown["scroll"] <= shown["client"]  # no horizontal scroll bar
    assert shown["right"] <= 1280  # no result cut at the window's edge
    assert min(shown["lines"]) == 2  # 10 figures of 136 px do not fit one 1280-px line: the row wraps
    results = json.loads(data.read_text())
    for captions, result in zip(shown["captions"], results, strict=True):
        for caption, hit in zip(captions, result["results"], strict=True):
            expected = ["✓" if hit["correct"] else "✗"] if hit["correct"] is not None else []
            assert caption.split("\n")[:2] == [" ".join([*expected, f"#{hit['rank']}"]), hit["class_name"]]
            assert "·" not in caption and Path(hit["path"]).name in caption


def test_demo_prints_each_top5_list_on_one_80_column_line(
    gallery: Path, digits_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from daml_cli.cli.demo import retrieval_lines
    from daml_cli.inference.retrieval import retrieve
    from daml_cli.safety.terminal import for_rich

    meta = json.loads(Path(f"{gallery}.json").read_text())
    monkeypatch.chdir(tmp_path)
    copies = []  # relative paths of 1 to 79 characters and more: every place a line can wrap at 80 columns
    for length in range(1, 80, 2):
        copy = Path("d" * length) / "query.png"
        copy.parent.mkdir()
        shutil.copyfile(digits_root / "digits" / meta["paths"][10], copy)
        copies.append(copy)
    labels = [meta["labels"][10]] * len(copies)
    run = retrieve(copies, gallery, k=5, device="cpu", query_labels=labels)
    console = Console(width=80, record=True, file=io.StringIO())
    for query in run.queries:
        for line in retrieval_lines(query):
            console.print(for_rich(line))
    shown = console.export_text().splitlines()
    assert max(len(line) for line in shown) <= 80
    marks = [line.count("✓") + line.count("✗") for line in shown]
    assert sorted(m for m in marks if m) == [5] * len(copies)  # each list whole on one line, never split
    for query, label in zip(run.queries, labels):
        items = [f"{hit.label}{'✓' if hit.label == label else '✗'}" for hit in query.hits]
        assert any(line.split(":", 1)[-1].split() == items for line in shown)
