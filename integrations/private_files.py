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


def private_directory(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (0700), created if missing.

    Only this folder is tightened, not its parents: the data dir root stays traversable,
    since the embedded Postgres runs as another user when we run as root. A folder made
    0644 by an older version is tightened too, which also hides the files already in it.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != 0o700:
        path.chmod(0o700)
    return path


def write_private(path: Path, content: bytes) -> None:
    """Replace ``path`` atomically with ``content``, the file 0600 from its first byte.

    A private temporary file (mkstemp makes it 0600) is renamed over the target, so
    readers see the old content or the new, never a half-written or readable-by-all file.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def open_private(path: Path, flags: int) -> int:
    """``os.open`` that creates the file 0600 (an existing file keeps its mode)."""
    return os.open(path, flags | os.O_CREAT, 0o600)
