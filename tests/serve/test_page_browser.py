"""The page at `/`, driven in a real headless Chromium: pick an image, see the gallery's nearest thumbnails."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from daml_cli.index.metadata import IndexMetadata
from tests.serve.cdp import Browser, browser_or_skip
from tests.serve.conftest import Gallery

SHOWN = """JSON.stringify({
  count: document.querySelectorAll('#results figure.hit').length,
  loaded: [...document.querySelectorAll('#results img')].filter(i => i.complete && i.naturalWidth > 0).length,
  sources: [...document.querySelectorAll('#results img')].map(i => i.getAttribute('src')),
  captions: [...document.querySelectorAll('#results figcaption')].map(c => c.textContent),
  query: document.getElementById('query-name').textContent,
  queryShown: document.getElementById('query-image').naturalWidth > 0,
  status: document.getElementById('status').textContent,
  statusClass: document.getElementById('status').className,
  hidden: document.getElementById('answer').hidden,
})"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    with browser_or_skip(tmp_path) as session:
        yield session


def _shown(browser: Browser) -> dict:
    return json.loads(browser.evaluate(SHOWN))


def test_pick_an_image_and_see_its_neighbours(browser: Browser, server: str, served_gallery: Gallery, tmp_path: Path) -> None:
    browser.call("Page.navigate", url=server)
    browser.wait_for(lambda: browser.evaluate("document.getElementById('gallery-info')?.textContent.includes('896 gallery')"), "the page to load /health")
    query_id = 123
    query = tmp_path / "my query.png"
    Image.open(served_gallery.paths[query_id]).resize((96, 96), Image.NEAREST).save(query)  # a copy the server never saw
    browser.set_file("#file", query)

    shown = browser.wait_for(lambda: (lambda s: s if s["count"] == 10 and s["loaded"] == 10 and s["queryShown"] else None)(_shown(browser)), "10 loaded thumbnails")
    assert not shown["hidden"] and shown["statusClass"] == "" and "10 results" in shown["status"]
    assert shown["query"] == "my query.png"
    assert all(src.startswith("/thumb/") for src in shown["sources"])
    label = int(served_gallery.labels[query_id])
    name = IndexMetadata.read(Path(served_gallery.index)).names_by_label().get(label, f"label {label}")  # class name when the sidecar has one
    assert shown["captions"][0].startswith("#1 ") and name in shown["captions"][0]
    assert "score" in shown["captions"][0] and Path(served_gallery.paths[query_id]).name in shown["captions"][0]
    assert browser.exceptions() == []
    screenshot = browser.screenshot(tmp_path / "page.png")
    if os.environ.get("DAML_SCREENSHOT"):
        Path(os.environ["DAML_SCREENSHOT"]).write_bytes(screenshot.read_bytes())
    assert Image.open(screenshot).size[0] > 0

    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("not an image")
    browser.set_file("#file", not_an_image)
    shown = browser.wait_for(lambda: (lambda s: s if s["statusClass"] == "error" else None)(_shown(browser)), "the error line")
    assert "not a readable image" in shown["status"] and shown["hidden"]
    assert browser.evaluate("fetch('/health').then(r => r.status)") == 200  # the server kept serving
