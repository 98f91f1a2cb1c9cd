"""Files that hold sensitive data are readable by their owner only (issue 14).

The snapshot (with SQLite's ``-wal``, ``-shm`` and ``-journal`` companions), the accounts
file and the exports written by the command line hold camp positions, names or password
hashes. Whatever the umask:

- such a file is created ``0600``;
- a folder the app creates for one is ``0700`` (folders that already exist are left as
  they are: they may be shared ones, such as the current folder);
- an existing file found readable or writable by others is tightened (group and others
  lose every permission); when that is not possible (another owner), a warning is
  logged and the app goes on.

SQLite creates its ``-wal`` and ``-shm`` files with the permissions of the database file,
so a database created ``0600`` keeps its companions ``0600`` too.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
_OTHERS = 0o077
# link() is not available on every file system: then the no-clobber write falls back to
# a check followed by a rename.
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}

log = logging.getLogger(__name__)


class SymlinkRefused(OSError):
    """The destination of a write is a symbolic link: it is never written through."""


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parent, each ``0700``; existing ones untouched."""
    missing: list[Path] = []
    current = Path(folder)
    while not current.exists() and not current.is_symlink() and current.parent != current:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by someone else: not ours to change
        os.chmod(path, DIR_MODE)  # the umask may have taken the owner's bits too


def tighten(path: Path) -> None:
    """Take every permission of group and others off an existing file (nothing when it
    is absent; a warning when it cannot be changed)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & _OTHERS:
        try:
            os.chmod(path, mode & ~_OTHERS)
        except OSError as exc:
            log.warning("cannot restrict the permissions of %s (%o): %s", path, mode, exc)


def create_private_file(path: Path) -> None:
    """An empty ``0600`` file at ``path`` unless one exists, which is then tightened."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        tighten(path)
        return
    try:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken the owner's bits too
    finally:
        os.close(fd)


def secure_sqlite(path: Path) -> None:
    """Before SQLite opens ``path``: its folder and the file exist and are private, and
    any companion file left by an earlier run is tightened."""
    make_private_dirs(path.parent)
    create_private_file(path)
    for suffix in SQLITE_COMPANIONS:
        tighten(path.with_name(path.name + suffix))


def write_private(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` atomically and ``0600``: a temporary file in the same
    folder, then renamed onto ``path``, so that a reader never sees half a file.

    A symbolic link at ``path`` is refused (``SymlinkRefused``), ``overwrite`` or not: its
    target is never written. Without ``overwrite`` an existing ``path`` is kept and
    ``FileExistsError`` raised, also when it appears while the data is being written.
    """
    if path.is_symlink():
        raise SymlinkRefused(errno.ELOOP, "symbolic link", str(path))
    if not overwrite and path.exists():
        raise FileExistsError(errno.EEXIST, "file exists", str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            if path.is_symlink():  # appeared meanwhile: rename would replace the link
                raise SymlinkRefused(errno.ELOOP, "symbolic link", str(path))
            os.replace(tmp, path)
        else:
            _rename_no_clobber(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _rename_no_clobber(tmp: str, path: Path) -> None:
    """Give ``tmp`` the name ``path`` unless something (a link included) has that name."""
    try:
        os.link(tmp, path)  # fails with EEXIST when path exists; never follows a link
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from exc
        os.replace(tmp, path)
    else:
        os.unlink(tmp)
