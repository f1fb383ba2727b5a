"""Real text that every Debian machine has offline: the package descriptions of `apt-cache
dumpavail`, with each package's Section as a label. The tests and bench/ measure search (and,
later, concept discovery) on it, because templated or synthetic sentences flatter both."""

from __future__ import annotations

import shutil
import subprocess


def debian_descriptions() -> list[tuple[str, str]]:
    """(description, section) of every package apt knows, first occurrence of each distinct
    description, in apt's order (stable for a given package list)."""
    if shutil.which("apt-cache") is None:
        raise RuntimeError("apt-cache is not installed: the real-text corpus needs a Debian or Ubuntu machine")
    dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    found, seen, fields = [], set(), {}
    for line in dump.splitlines() + [""]:
        if not line:
            text = fields.get("Description")
            if text and text not in seen:
                seen.add(text)
                found.append((text, fields.get("Section", "")))
            fields = {}
        elif not line.startswith(" ") and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if len(found) < 1000:
        raise RuntimeError(f"apt-cache dumpavail gave {len(found)} descriptions: run apt-get update first")
    return found
