"""One way to write a file safely: a named partial file beside it, then a rename.

A reader never sees a half-written file, an interrupted write leaves the old file
intact, and the partial file's name says what it is
(``.NAME.napari-sleap-partial-PID-XXXXXXXX[.ext]``) so a user who finds one knows
it can go. Partial files of writers that are gone (killed, power lost) are removed
by the next write of the same file. Finished files get normal permissions (0666
less the umask, or the replaced file's mode), not the owner-only mode that
``tempfile.mkstemp`` gives.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "PARTIAL_MARK",
    "atomic_path",
    "clean_stale_partials",
    "partial_path",
    "write_bytes",
    "write_text",
]

#: The part of every partial file's name that says what it is.
PARTIAL_MARK = ".napari-sleap-partial-"
#: Partial files older than this are stale even if their process id is in use.
STALE_AFTER_S = 24 * 3600.0
#: Earlier releases' temp names (``.NAME.XXXX.tmp.slp``, ``NAME.tmp``, ...).
_LEGACY = (
    r"\.{name}\.[^/]*\.tmp(\.[A-Za-z0-9]+)?",
    r"\.{name}\.tmp",
    r"{name}\.tmp",
    r"\.{name}\.[A-Za-z0-9_]{{8}}\.(json|png)",
)
#: Legacy names carry no process id: only those older than this are removed.
LEGACY_STALE_AFTER_S = 3600.0


def partial_path(path: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh partial-file name beside ``path`` (nothing is created).

    Args:
        path: The final file.
        suffix: Extension the partial file must end with (some writers check it).
    """
    path = Path(path)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return path.with_name(f".{path.name}{PARTIAL_MARK}{token}{suffix}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def clean_stale_partials(path: str | os.PathLike) -> list[Path]:
    """Remove partial files of ``path`` left by writers that no longer run.

    A partial file is stale when its process id is not running on this machine or
    it is older than a day; earlier releases' temp names (no process id) are stale
    after an hour. Returns what was removed.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        return []
    ours = re.compile(
        re.escape(f".{path.name}{PARTIAL_MARK}") + r"(\d+)-[0-9a-f]{8}(\.[^/]*)?$"
    )
    legacy = [re.compile(p.format(name=re.escape(path.name)) + "$") for p in _LEGACY]
    now = time.time()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith((".", path.name)):
            continue
        match = ours.match(entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            if not (entry.is_file(follow_symlinks=False) or (is_dir and match)):
                continue  # folders only under our own name (partial zarr stores)
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if match:
            stale = not _pid_alive(int(match.group(1))) or age > STALE_AFTER_S
        else:
            stale = age > LEGACY_STALE_AFTER_S and any(
                p.match(entry.name) for p in legacy
            )
        if stale:
            try:
                if is_dir:
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def _final_mode(path: Path) -> int:
    """The replaced file's mode, or 0666 less the umask for a new file."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_path(
    path: str | os.PathLike, *, suffix: str = "", fsync: bool = True
) -> Iterator[Path]:
    """Yield a partial path beside ``path``; move it into place when the block ends.

    The writer inside the block creates the partial file itself. On any error
    (or Ctrl-C) the partial file is removed and ``path`` is left as it was.

    Args:
        path: The final file.
        suffix: Extension the partial file keeps, e.g. ``".slp"``.
        fsync: Flush the file to disk before the rename (survives power loss).

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        IsADirectoryError: ``path`` is a folder.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"{path}: folder {path.parent} does not exist; create it first"
        )
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give a file name")
    clean_stale_partials(path)
    tmp = partial_path(path, suffix)
    try:
        try:
            yield tmp
        except OSError as err:
            if err.filename is None and err.errno is not None:
                # A failed write (disk full, size limit) names no file: name ours.
                raise OSError(err.errno, err.strerror, str(path)) from err
            raise
        if not tmp.exists():
            raise FileNotFoundError(f"{path}: the writer produced no file")
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(
    path: str | os.PathLike, text: str, *, encoding: str = "utf-8", fsync: bool = True
) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    return write_bytes(path, text.encode(encoding), fsync=fsync)
