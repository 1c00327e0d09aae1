"""Pictures of the reports, to be looked at: the first page of a PDF drawn to PNG by
poppler's pdftoppm, its text read by pdftotext (Debian's poppler-utils; .ci/run installs
it). ``python -m tests.reports.screenshots REPORT.pdf OUT.png`` draws one by hand."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path


def first_page_png(pdf: bytes, out: Path, dpi: int = 80) -> Path:
    """The PDF's first page as a PNG at ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "report.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1",
                        "-singlefile", str(source), str(out.with_suffix(""))],
                       check=True, timeout=60)  # fmt: skip
    return out


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, in reading order."""
    found = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                           check=True, timeout=60)  # fmt: skip
    return found.stdout.decode()


if __name__ == "__main__":
    print(first_page_png(Path(sys.argv[1]).read_bytes(), Path(sys.argv[2])))
