"""The Gradio chat app on the shipped corpus: `python app.py` (same as `rag serve`)."""

import sys

from rag.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
