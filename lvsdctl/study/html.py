"""The report's markdown as one HTML page, without a markdown dependency.

It renders only what `lvsdctl.study.reproduction` writes: headings, paragraphs, bullet lists, block quotes,
pipe tables, images, **bold** and `code`. Every piece of text is HTML-escaped before any markup is
added. Images are referenced relative to the HTML file.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

_STYLE = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}td,th{border:1px solid #ccc;padding:.2rem .45rem}
th{background:#f3f3f3}blockquote{border-left:4px solid #c33;margin:1rem 0;padding:.3rem 1rem;background:#fff4f4}
img{max-width:100%}code{background:#f3f3f3;padding:0 .2rem}"""


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_to_html(text: str, *, title: str, base: Path | None = None, md_base: Path | None = None) -> str:
    """``base``: the HTML file's folder; ``md_base``: the markdown's (image paths are rebased between them)."""
    lines, out, i = text.split("\n"), [], 0

    def image(alt: str, src: str) -> str:
        if base is not None and md_base is not None and not re.match(r"^[a-z]+:", src):
            src = os.path.relpath(Path(md_base) / src, base).replace(os.sep, "/")
        return f'<p><img alt="{html.escape(alt)}" src="{html.escape(src)}"></p>'

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif m := re.match(r"^(#{1,6})\s+(.*)$", line):
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
        elif m := re.match(r"^!\[([^\]]*)\]\(([^)]+)\)\s*$", line):
            out.append(image(m.group(1), m.group(2)))
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
            cells = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        elif line.startswith(">"):
            quote = []
            while i < len(lines) and lines[i].startswith(">"):
                quote.append(lines[i].lstrip("> ").rstrip())
                i += 1
            out.append(f"<blockquote><p>{_inline(' '.join(quote))}</p></blockquote>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#|!\[|\||- |>)", lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")
