"""benchmarks/RESULTS.md keeps the latest table of each benchmark with its date and command."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def record(section: str, body: str) -> None:
    """Replace (or append) '## <section>' in RESULTS.md with body, today's date and the command."""
    stamp = datetime.date.today().isoformat()
    command = "python " + " ".join([f"benchmarks/{Path(sys.argv[0]).name}"] + sys.argv[1:])
    block = f"## {section}\n\n{stamp}, `{command}`\n\n{body}\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nLatest run of each benchmark.\n\n"
    start = text.find(f"## {section}\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + block + ("" if end < 0 else "\n" + text[end + 1 :])
    RESULTS.write_text(text)
