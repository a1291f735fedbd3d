"""A self-contained HTML page of retrieval results: one row per query, thumbnails inlined as base64 JPEG.

The page needs no other file, so it can be moved, mailed or attached to a run. Hits are marked correct or
incorrect (green ✓ / red ✗) when both the query's and the hit's labels are known; all text is escaped.
A row of thumbnails wraps to the window (no horizontal scrolling); a caption reads "✓ #RANK", then the class,
the score and the file name, one per line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from daml_cli.atomic import atomic_write_text
from daml_cli.report.results import QueryResult, class_text
from daml_cli.report.thumbnails import THUMB_SIZE, load_thumbnail, resolve, to_data_uri

_STYLE = f"""
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
.query {{ display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; padding: 10px 0;
          border-bottom: 1px solid #ddd; }}
figure {{ margin: 0; flex: 0 0 auto; width: {THUMB_SIZE + 8}px; font-size: 11px; line-height: 1.35;
          text-align: center; overflow-wrap: break-word; }}
figcaption {{ margin-top: 3px; }}
figure img {{ width: {THUMB_SIZE}px; height: {THUMB_SIZE}px; object-fit: contain; background: #f4f4f4;
             border: 4px solid #bbb; }}
figure.probe img {{ border-color: #2f6fd0; }}
figure.correct img {{ border-color: #2a9d3a; }}
figure.incorrect img {{ border-color: #d0342c; }}
.mark {{ font-weight: bold; }} .correct .mark {{ color: #2a9d3a; }} .incorrect .mark {{ color: #d0342c; }}
.missing {{ color: #d0342c; }}
.note {{ font-size: 12px; color: #666; align-self: center; max-width: 16em; }}
h1, p {{ overflow-wrap: anywhere; }}
"""


def write_retrieval_html(
    out_path: Path | str,
    queries: Sequence[QueryResult],
    root: Path | str | None = None,
    title: str = "daml retrieval results",
    score_name: str = "score",
) -> Path:
    """Write the page to `out_path` atomically and return it.

    Relative image paths are resolved against `root`. `score_name` labels the scores in the captions
    (e.g. "distance" for raw squared L2 distances, "similarity" for cosine scores).
    """
    cache: dict[Path, tuple[str, bool]] = {}

    def thumb(path: str) -> tuple[str, bool]:
        full = resolve(path, root)
        if full not in cache:
            image, found = load_thumbnail(full)
            cache[full] = (to_data_uri(image), found)
        return cache[full]

    rows = [_query_row(query, thumb, score_name) for query in queries]
    page = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{_summary(queries)}</p>",
        *rows,
        "</body></html>",
    ])
    out_path = Path(out_path)
    atomic_write_text(out_path, page + "\n")
    return out_path


def _query_row(query: QueryResult, thumb: Callable[[str], tuple[str, bool]], score_name: str) -> str:
    uri, found = thumb(query.query_path)
    label = f"<br>{breakable(query.query_text)}" if query.query_text else ""
    parts = [
        '<section class="query">',
        f'<figure class="probe"><img src="{uri}" alt="query"><figcaption><b>query</b>{label}<br>'
        f"{_path_caption(query.query_path, found)}</figcaption></figure>",
    ]
    for hit in query.hits:
        correct = query.is_correct(hit)
        state = {True: "correct", False: "incorrect", None: "unknown"}[correct]
        mark = {True: "✓", False: "✗", None: ""}[correct]
        hit_uri, hit_found = thumb(hit.path)
        hit_class = class_text(hit.label, hit.class_name)
        rank = f'<span class="mark">{mark}</span> #{hit.rank}' if mark else f"#{hit.rank}"
        hit_label = f"<br>{breakable(hit_class)}" if hit_class else ""
        parts.append(
            f'<figure class="hit {state}"><img src="{hit_uri}" alt="rank {hit.rank}"><figcaption>'
            f"{rank}{hit_label}<br>{escape(score_name)} {hit.score:.4g}<br>"
            f"{_path_caption(hit.path, hit_found)}</figcaption></figure>"
        )
    if not query.hits:
        parts.append("<p>no results</p>")
    if query.excluded:
        parts.append(f'<p class="note">the query itself is in the gallery ({escape(", ".join(Path(p).name for p in query.excluded))}); '
                     "it is left out of its own results</p>")
    parts.append("</section>")
    return "\n".join(parts)


def breakable(text: str) -> str:
    """`text` escaped, with a line-break opportunity (<wbr>) after each '/', '_' and '-', so a caption wraps
    a class name such as ``Japanese_(katakana)/character01`` between its parts rather than mid-word."""
    escaped = escape(text)
    for mark in "/_-":
        escaped = escaped.replace(mark, mark + "<wbr>")
    return escaped


def _path_caption(path: str, found: bool) -> str:
    name = breakable(Path(path).name or path)
    text = f'<span title="{escape(path, quote=True)}">{name}</span>'
    return text if found else text + ' <span class="missing">(image not found)</span>'


def _summary(queries: Sequence[QueryResult]) -> str:
    judged = [q.is_correct(h) for q in queries for h in q.hits]
    known = [j for j in judged if j is not None]
    text = f"{len(queries)} queries, {len(judged)} results shown"
    if known:
        text += f"; {sum(known)} of {len(known)} labelled results are the query's class ({sum(known) / len(known):.1%})"
    return escape(text)
