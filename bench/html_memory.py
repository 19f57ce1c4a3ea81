"""Peak memory of reading a tag-heavy HTML file: the streaming loader (rag.ingest.html_text) against the
BeautifulSoup tree it replaced, measured in the same run.

    python bench/html_memory.py [--mb 4] [--runs 3]

The page is rows of short words each in its own inline and block tags (about 85% markup), the case a
parse tree handles worst. Peak is what tracemalloc saw allocated by Python during one load (the
decoded text included); the median of --runs loads of each is printed, with its ratio to the file size.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

ROW = '<div class="row"><span class="a">alpha</span> <b>beta</b> <i>gamma</i> <a href="#x">delta</a></div>\n'


def soup_text(html: str) -> tuple[str, str]:
    """The loader as it was (BeautifulSoup, html.parser)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), title


def measure(load: Callable[[str], tuple[str, str]], data: bytes) -> tuple[int, float, int]:
    """(peak bytes, seconds, characters of text) of one load."""
    tracemalloc.start()
    started = time.perf_counter()
    text, _ = load(data.decode("utf-8"))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, seconds, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="size of the generated page")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from rag.ingest.html_text import html_text

    rows = int(args.mb * 1024 * 1024 / len(ROW))
    data = ("<html><head><title>Rows</title></head><body>\n" + ROW * rows + "</body></html>").encode()
    print(f"page: {len(data) / 1e6:.1f} MB, {rows} rows, {ROW.count('<') * rows} tags")
    for name, load in (("beautifulsoup", soup_text), ("streaming", html_text)):
        results = [measure(load, data) for _ in range(args.runs)]  # alternating would not change a peak
        peak = statistics.median(r[0] for r in results)
        seconds = statistics.median(r[1] for r in results)
        print(
            f"{name:>14}: peak {peak / 1e6:8.1f} MB ({peak / len(data):6.1f}x the file), "
            f"{seconds:6.2f} s (under tracemalloc), {results[0][2]} characters of text"
        )


if __name__ == "__main__":
    main()
