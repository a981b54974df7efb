"""Several outputs written all or none: each regular file written beside itself first, all renamed at the end.

``write_all`` takes the outputs as ``(path, write)`` pairs, where ``write(where)`` writes one
output to the path it is given, by ``write_output``'s rules (as ``write_table``,
``write_labels_chunked`` or ``figures.save_figure`` do, with ``overwrite=True``). An output
may be a new folder (a SavedModel's version folder): it is written into an empty temporary
folder beside itself and renamed with the files, and it never replaces anything.
``folder_made`` makes the folder that such an output goes into, and removes it again if the
writing fails.
"""

import contextlib
import dataclasses
import errno
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from kmeans_tf.data_io.writing import _checked_output, _umask, _write_error, mode_for, temporary_beside

# Tries at a free name for the hard link that keeps a replaced file until every output is in place.
BACKUP_TRIES = 8


@dataclasses.dataclass
class _Staged:
    """A regular file to write: the path given, the file it names (links resolved), and its temporary file."""

    path: object
    target: Path
    write: object
    folder: bool = False  # a new folder, not a file
    temporary: Path | None = None
    existed: bool = False  # whether ``target`` was there before the rename
    backup: Path | None = None  # a hard link to the file the rename replaced, until every rename is done
    renamed: bool = False


def write_all(outputs, *, overwrite=False, folders=()):
    """Write every output of ``outputs``, or none of them.

    First each regular file (new, or existing when ``overwrite``) is written to a temporary
    file in its folder, with the suffix of the path given; then each device, FIFO or file
    descriptor is written into, in the order given (they cannot be taken back, so they come
    after everything that can fail before them); then every temporary file is renamed over its
    file. If anything fails, or a signal stops it, the temporary files are removed, and the
    files already renamed are put back: a file replaced is restored, a new one removed.

    Parameters
    ----------
    outputs : sequence of (path, write)
        ``write(where)`` writes one output to ``where``: a temporary file for a regular file
        (its name replaced by ``path`` in a message that names it), ``path`` itself otherwise.
    overwrite : bool, default=False, whether existing regular files may be replaced
    folders : collection of str or Path, default=()
        The paths of ``outputs`` that are new folders: ``write(where)`` gets an empty temporary
        folder beside the path; the path must not exist, whatever ``overwrite`` says.

    Raises
    ------
    OSError or ValueError
        As ``check_output`` says, or as the writing or a rename fails (naming the path given).
    """
    staged, special = [], []
    folders = {Path(folder) for folder in folders}
    for path, write in outputs:
        folder = Path(path) in folders
        output = _checked_output(path, overwrite and not folder)
        if output.target is None:
            special.append((path, write))
        else:
            staged.append(_Staged(path, output.target, write, folder))
    try:
        for each in staged:
            each.temporary = _temporary(each)
            _write_staged(each)
        for path, write in special:
            write(path)
        _rename_all(staged)
    finally:
        for each in staged:
            for leftover in (each.temporary, each.backup):
                if leftover is not None and os.path.lexists(leftover):
                    _remove(leftover, each.folder)


def _remove(path, folder):
    """Remove the file, or the folder and all it holds, at ``path``."""
    if folder:
        shutil.rmtree(path)
    else:
        os.remove(path)


def _temporary(each):
    """Make an empty temporary file (or folder) beside ``each.target``, hidden, ending in the given path's suffix."""
    if each.folder:
        try:
            return Path(tempfile.mkdtemp(dir=each.target.parent, prefix=f".{each.target.name}.", suffix=".tmp"))
        except OSError as error:
            raise _write_error(each.path, error, f"cannot create a folder in {each.target.parent}") from None
    handle, name = temporary_beside(each.path, each.target, Path(each.path).suffix)
    os.close(handle)
    return Path(name)


def _write_staged(each):
    """Write ``each`` to its temporary file; a failure's message names the path given, not the temporary file."""
    try:
        each.write(str(each.temporary))
    except (OSError, ValueError) as error:
        text = str(error).replace(str(each.temporary), str(each.path))
        try:
            renamed = type(error)(text)
        except Exception:  # an exception type that takes other arguments
            renamed = (OSError if isinstance(error, OSError) else ValueError)(text)
        raise renamed from None


def _rename_all(staged):
    """Rename every temporary file over its file; if one fails, put back those already renamed."""
    each = None
    try:
        for each in staged:
            each.existed = each.target.exists()
            os.chmod(each.temporary, 0o777 & ~_umask() if each.folder else mode_for(each.target))
            if each.folder and os.path.lexists(each.target):  # made meanwhile: never replaced
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST))
            if len(staged) > 1 and not each.folder:
                each.backup = _backup(each.target) if each.existed else None
            os.replace(each.temporary, each.target)
            each.temporary, each.renamed = None, True
    except BaseException as error:
        for done in staged:
            if done.renamed:
                _put_back(done)
        if isinstance(error, OSError):
            raise _write_error(each.path, error) from None
        raise


def _backup(target):
    """Return a new hard link to the file ``target`` beside it, or None where the file system makes none."""
    for _ in range(BACKUP_TRIES):
        backup = target.with_name(f".{target.name}.{secrets.token_hex(6)}.old")
        try:
            os.link(target, backup)
        except FileExistsError:
            continue
        except OSError:
            return None
        return backup
    return None


def _put_back(each):
    """Undo the rename of ``each``: restore the file it replaced, or remove the file it made."""
    try:
        if each.backup is not None:
            os.replace(each.backup, each.target)
            each.backup = None
        elif not each.existed:
            _remove(each.target, each.folder)
    except OSError:
        pass  # nothing more can be done: the error that stopped the writing is the one to say


def check_folder(path):
    """Check, before any work, that ``path`` is a writable folder or can be made one; else ``OSError`` saying why.

    The message starts with ``path``, so that a caller can put the option that named it first.
    """
    path = Path(path)
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    if existing == path:
        if not path.is_dir():
            raise NotADirectoryError(f"{path} is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"{path}: this folder is not writable")
    elif not existing.is_dir():
        raise NotADirectoryError(
            f"{path}: cannot make this folder: {os.strerror(errno.ENOTDIR)} ({existing} is a file)"
        )
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{path}: cannot make this folder: {os.strerror(errno.EACCES)} (folder {existing} is not writable)"
        )


@contextlib.contextmanager
def folder_made(path):
    """Make the folder ``path`` (and its parents) where missing, for the body; ``OSError`` saying why if it cannot.

    When the body fails, the folders made here are removed again if they are still empty: a
    failed write leaves no folder behind. A message starts with ``path``, as ``check_folder``'s do.
    """
    path = Path(path)
    made = [folder for folder in (path, *path.parents) if not folder.exists()]  # the deepest first
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"{path}: cannot make this folder: {error.strerror or error}") from None
    try:
        yield path
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()
            except OSError:  # not empty, or not ours to remove
                break
        raise
