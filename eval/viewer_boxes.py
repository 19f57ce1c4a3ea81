"""How often the viewer boxes a cited sentence on its PDF page, and how long a page view takes.

    python eval/viewer_boxes.py [--per-pdf 40] [--pdfs 12] [--squad-pages 40]

Real PDFs with a text layer (those in /usr/share/doc, as eval/ocr_accuracy.py finds them) are read by the
product's loader (pypdf's text, as indexed); sentences of five words or more are drawn from each, spread
over the file, as rag.text.sentences cuts them (a citation marks such sentences). Each is looked for on
its page by the viewer (rag.web.pdf_page.page_view): "whole" when all its letters and digits were found in
order, "part" when only its longest run was (a sentence running onto the next page, say), "none" when it
was not found. Few real PDFs are on a bare machine, so a PDF of --squad-pages pages that fpdf2 writes
from SQuAD paragraphs (../shared/eval-data) is added, and listed apart. Every box is checked to lie on
the page. Times: page_view (find and box one sentence) and page_png (render the page for the browser),
medians, on this machine's CPU. Writes eval/results/viewer_boxes.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ocr_accuracy import cpu, find_pages, squad_pages  # noqa: E402 - the same real PDFs and CPU record as the OCR figures

from rag.ingest.load import LoadError, load_file  # noqa: E402
from rag.text import sentences  # noqa: E402
from rag.web.pdf_page import letters_and_digits, page_png, page_view  # noqa: E402

OUT = Path(__file__).with_name("results") / "viewer_boxes.json"
MIN_WORDS = 5


def drawn(text: str, count: int) -> list[tuple[int, int]]:
    """Up to `count` sentence spans of five words or more, evenly spread over the text."""
    found = [(s.start, s.end) for s in sentences(text) if len(text[s.start : s.end].split()) >= MIN_WORDS]
    step = max(1, len(found) // count)
    return found[::step][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-pdf", type=int, default=40)
    parser.add_argument("--pdfs", type=int, default=12)
    parser.add_argument("--squad-pages", type=int, default=40)
    args = parser.parse_args()
    pdfs = list(dict.fromkeys(path for path, _, _ in find_pages()))[: args.pdfs]
    written = squad_pages(args.squad_pages, Path(tempfile.mkdtemp())) if args.squad_pages else []
    pdfs += list(dict.fromkeys(path for path, _, _ in written))
    outcome = {"whole": 0, "part": 0, "none": 0}
    view_ms, png_ms, misses, per_pdf = [], [], [], {}
    for path in pdfs:
        try:
            document = load_file(path)
        except LoadError as error:
            print(f"skipped {error}", file=sys.stderr)
            continue
        data = path.read_bytes()
        counts = {"whole": 0, "part": 0, "none": 0}
        for start, end in drawn(document.text, args.per_pdf):
            sentence, page = document.text[start:end], document.page_at(start) or 1
            began = time.perf_counter()
            view = page_view(data, page, [sentence])
            view_ms.append((time.perf_counter() - began) * 1000)
            boxes = view.marks[0]
            assert all(0 <= b.left <= 1 and 0 <= b.top <= 1 for b in boxes)
            if not boxes:
                kind = "none"
                misses.append({"pdf": path.name, "page": page, "sentence": sentence[:160]})
            else:
                kind = "whole" if _whole(data, page, sentence) else "part"
            counts[kind] += 1
        began = time.perf_counter()
        page_png(data, 1)
        png_ms.append((time.perf_counter() - began) * 1000)
        per_pdf[path.name] = counts
        for kind, n in counts.items():
            outcome[kind] += n
        print(f"{path.name}: {counts}", file=sys.stderr)
    total = sum(outcome.values())
    result = {
        "cpu": cpu(),
        "pdfs": len(per_pdf),
        "sentences": total,
        "boxed_whole": round(outcome["whole"] / total, 4),
        "boxed_part": round(outcome["part"] / total, 4),
        "not_found": round(outcome["none"] / total, 4),
        "page_view_ms_p50": round(statistics.median(view_ms), 1),
        "page_png_ms_p50": round(statistics.median(png_ms), 1),
        "per_pdf": per_pdf,
        "not_found_examples": misses[:20],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("per_pdf", "not_found_examples")}, indent=2))


def _whole(data: bytes, page: int, sentence: str) -> bool:
    """Whether all of the sentence's letters and digits are on the page in order (not only a run of them)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        text = document[page - 1].get_textpage().get_text_range()
    finally:
        document.close()
    return letters_and_digits(sentence)[0] in letters_and_digits(text)[0]


if __name__ == "__main__":
    main()
