"""Several outputs written all or none: each regular file written beside itself first, all renamed at the end.

``write_all`` takes the outputs as ``(path, write)`` pairs, where ``write(where)`` writes one
output to the path it is given, by ``write_output``'s rules (as ``write_table``,
``write_labels_chunked`` or ``figures.save_figure`` do, with ``overwrite=True``).
"""

import dataclasses
import os
import secrets
from pathlib import Path

from kmeans_tf.data_io.writing import _checked_output, _write_error, mode_for, temporary_beside

# Tries at a free name for the hard link that keeps a replaced file until every output is in place.
BACKUP_TRIES = 8


@dataclasses.dataclass
class _Staged:
    """A regular file to write: the path given, the file it names (links resolved), and its temporary file."""

    path: object
    target: Path
    write: object
    temporary: Path | None = None
    existed: bool = False  # whether ``target`` was there before the rename
    backup: Path | None = None  # a hard link to the file the rename replaced, until every rename is done
    renamed: bool = False


def write_all(outputs, *, overwrite=False):
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

    Raises
    ------
    OSError or ValueError
        As ``check_output`` says, or as the writing or a rename fails (naming the path given).
    """
    staged, special = [], []
    for path, write in outputs:
        output = _checked_output(path, overwrite)
        if output.target is None:
            special.append((path, write))
        else:
            staged.append(_Staged(path, output.target, write))
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
                    os.remove(leftover)


def _temporary(each):
    """Make an empty temporary file beside ``each.target``, hidden, ending in the given path's suffix."""
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
            os.chmod(each.temporary, mode_for(each.target))
            if len(staged) > 1:
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
            os.remove(each.target)
    except OSError:
        pass  # nothing more can be done: the error that stopped the writing is the one to say
