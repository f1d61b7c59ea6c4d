"""Files the grader shares between its own directories (a cache, a run, a worker's copy)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def link_or_copy(source: Path, target: Path) -> None:
    """Put `source` at `target` as a hard link (or a copy, across file systems), atomically:
    a reader sees the old file or the whole new one, never a half-written copy."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
        tmp.chmod(0o644)
    os.replace(tmp, target)
