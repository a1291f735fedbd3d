"""The retrieval HTML page: self-contained thumbnails, one figure per hit, correct/incorrect marks, escaping."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from PIL import Image

from daml_cli.report.html import write_retrieval_html
from daml_cli.report.results import QueryResult


def _sections(page: str) -> list[str]:
    return re.findall(r'<section class="query">(.*?)</section>', page, flags=re.S)


def test_page_structure_and_marks(tmp_path: Path, image_root: Path, labelled_queries) -> None:
    out = write_retrieval_html(tmp_path / "out" / "page.html", labelled_queries, root=image_root)
    page = out.read_text(encoding="utf-8")
    sections = _sections(page)
    assert len(sections) == 2
    assert [s.count('<figure class="hit ') for s in sections] == [3, 2]
    assert re.findall(r'figure class="hit (\w+)"', sections[0]) == ["correct", "incorrect", "correct"]
    assert re.findall(r'figure class="hit (\w+)"', sections[1]) == ["correct", "incorrect"]
    assert page.count("(image not found)") == 1 and "3 of 5 labelled results" in page
    assert "src=\"http" not in page and "file:" not in page  # nothing outside the page is referenced


def test_thumbnails_are_embedded_and_small(tmp_path: Path, image_root: Path, labelled_queries) -> None:
    page = write_retrieval_html(tmp_path / "p.html", labelled_queries, root=image_root).read_text()
    uris = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 2 + 5  # every query and hit figure has an inline image
    sizes = [Image.open(io.BytesIO(base64.b64decode(uri))).size for uri in uris]
    assert max(max(size) for size in sizes) == 128 and min(min(size) for size in sizes) > 0


def test_unlabelled_and_text_escaped(tmp_path: Path, image_root: Path) -> None:
    queries = [QueryResult("<script>alert(1)</script>.jpg", None, [(1, 'g/0.jpg" onerror="x', None, 1.0)])]
    page = write_retrieval_html(tmp_path / "p.html", queries, root=image_root, title="a & b").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and 'onerror="x' not in page
    assert "<title>a &amp; b</title>" in page
    assert 'class="hit unknown"' in page and "✓" not in page and "✗" not in page


def test_absolute_paths_and_no_results(tmp_path: Path, image_root: Path) -> None:
    queries = [QueryResult(str(image_root / "query.jpg"), 3, [])]
    page = write_retrieval_html(tmp_path / "p.html", queries).read_text()
    assert "no results" in page and "(image not found)" not in page
