"""Whether a sentence printed in a PDF comes out of it as one sentence: the text layer as printed (one line of
text per printed line) against the same lines run on into paragraphs (rag/ingest/reflow.py), in one run.

    python eval/pdf_sentences.py [--paragraphs 200] [--width 120 210]

SQuAD v1.1 dev paragraphs (../shared/eval-data) are written by fpdf2 as PDF pages of each --width (mm; 210
is A4, 120 a narrow column), read back by the product's PDF reader, and cut into sentences by
rag.text.sentences, as every step after loading cuts them. A paragraph's own sentences (cut from its JSON
text) count as kept when one of the PDF text's sentences is the same sentence (white space aside). The
text layer as printed is what pypdf gives (rag.ingest.formats.pdf._text_layer), what was indexed before
reflow. Writes eval/results/pdf_sentences.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from fpdf import FPDF

from rag.ingest.formats.pdf import _text_layer
from rag.ingest.load import load_file
from rag.settings import eval_data_dir
from rag.text import sentences

OUT = Path(__file__).with_name("results") / "pdf_sentences.json"


def cut(text: str) -> list[str]:
    return [" ".join(text[s.start : s.end].split()) for s in sentences(text)]


def write(paragraphs: list[str], width: int, path: Path) -> None:
    pdf = FPDF(format=(width, 297))
    pdf.set_font("helvetica", size=11)
    for paragraph in paragraphs:
        pdf.add_page()
        pdf.multi_cell(0, 6, paragraph.encode("latin-1", "replace").decode("latin-1"))
    pdf.output(str(path))


def kept(expected: list[list[str]], pages: list[str]) -> float:
    """The share of the paragraphs' sentences found whole among their page's sentences."""
    found = total = 0
    for wanted, page in zip(expected, pages, strict=True):
        have = set(cut(page))
        found += sum(sentence in have for sentence in wanted)
        total += len(wanted)
    return found / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=200)
    parser.add_argument("--width", type=int, nargs="+", default=[210, 120])
    args = parser.parse_args()
    source = eval_data_dir() / "squad-v1.1" / "dev-v1.1.json"
    if not source.exists():
        sys.exit(f"no {source}: the SQuAD v1.1 dev set is needed (../shared/eval-data)")
    data = json.loads(source.read_text(encoding="utf-8"))["data"]
    paragraphs = [p["context"] for article in data for p in article["paragraphs"]][: args.paragraphs]
    expected = [cut(p.encode("latin-1", "replace").decode("latin-1")) for p in paragraphs]
    result: dict[str, object] = {"paragraphs": len(paragraphs), "sentences": sum(map(len, expected))}
    folder = Path(tempfile.mkdtemp())
    for width in args.width:
        path = folder / f"squad-{width}mm.pdf"
        write(paragraphs, width, path)
        data_bytes = path.read_bytes()
        printed, _, _ = _text_layer(path, data_bytes)
        document = load_file(path)
        starts = [*document.page_starts, len(document.text)]
        reflowed = [document.text[a:b] for a, b in zip(starts, starts[1:], strict=False)]
        result[f"{width}mm"] = {
            "kept_as_printed": round(kept(expected, printed), 4),
            "kept_run_on": round(kept(expected, reflowed), 4),
        }
        print(f"{width} mm: {result[f'{width}mm']}", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
