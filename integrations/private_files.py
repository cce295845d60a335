"""Generated secrets and keys on disk, created exactly once."""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def create_once(path: Path, make_content: Callable[[], bytes]) -> bytes:
    """The content of ``path``, generating it (file 0600, folder 0700) the first time.

    The new content is written to a private temporary file and hard-linked into place,
    which fails if the file already exists: processes starting together (API, worker)
    agree on one value, and nobody ever reads a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    if not path.exists():
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "wb") as handle:  # mkstemp creates it 0600
                handle.write(make_content())
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_bytes()
