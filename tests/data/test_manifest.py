"""manifest.csv: the query/gallery flags are row fields on the way in and ``1``/``0``/empty columns on disk."""

from __future__ import annotations

from pathlib import Path

from daml_cli.data.manifest import ManifestRow, read_manifest, write_manifest


def test_query_gallery_flags_are_fields_and_round_trip(tmp_path: Path) -> None:
    rows = [
        ManifestRow("a.png", 0, "a", "train"),
        ManifestRow("b.png", 1, "b", "test", extra={"colour": "red"}, is_query=True, is_gallery=False),
        ManifestRow("c.png", 1, "b", "test", is_query=False, is_gallery=True),
    ]
    write_manifest(tmp_path, rows, ["is_query", "is_gallery", "colour"])
    assert (tmp_path / "manifest.csv").read_text().splitlines() == [
        "path,label,class_name,split,is_query,is_gallery,colour",
        "a.png,0,a,train,,,",
        "b.png,1,b,test,1,0,red",
        "c.png,1,b,test,0,1,",
    ]
    read = read_manifest(tmp_path).rows
    assert [(r.is_query, r.is_gallery) for r in read] == [(None, None), (True, False), (False, True)]
    assert [r.extra for r in read] == [{"colour": ""}, {"colour": "red"}, {"colour": ""}]


def test_flags_written_as_words_are_read(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text(
        "path,label,class_name,split,is_query,is_gallery\nx.png,0,x,test,true,False\ny.png,0,x,test,0,1\n"
    )
    read = read_manifest(tmp_path).rows
    assert [(r.is_query, r.is_gallery) for r in read] == [(True, False), (False, True)]
