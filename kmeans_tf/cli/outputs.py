"""The commands' outputs: claimed before any work (so nothing given is lost), then written all or none."""

import contextlib
import dataclasses
import glob
import os
from pathlib import Path

import click
import numpy as np

from kmeans_tf import data_io
from kmeans_tf.data_io.chunked import LABEL_CHUNK
from kmeans_tf.data_io.tfrecord_files import is_glob, is_tfrecord_name


def claim_outputs(outputs, *, force, inputs=None):
    """Check the output paths before any work, so that nothing given is lost.

    ``outputs`` and ``inputs`` map an option's name to its path (or None). An output must
    be writable where it is, differ from every input file and from the other outputs (links
    followed), and be new unless ``force``. An input that is a folder of shards stands for
    each of its shards (``.npy`` or TFRecord files), and an output there that would be read as one
    of them is refused too; a glob of TFRecord files stands for each file it matches.
    Devices, FIFOs and ``/dev/stdout`` are written into, never replaced.
    """
    inputs = {name: path for name, path in (inputs or {}).items() if path not in (None, data_io.STDIN)}
    folders = {name: path for name, path in inputs.items() if os.path.isdir(path)}
    input_files = [(name, path) for name, path in inputs.items() if name not in folders and not is_glob(path)]
    for name, pattern in inputs.items():
        if is_glob(pattern):
            input_files += [(f"{name} ({match})", match) for match in sorted(glob.glob(str(pattern)))]
    for name, folder in folders.items():
        input_files += [(f"{name} ({shard})", shard) for shard in _shards(folder)]
    claimed = {}
    for option, path in outputs.items():
        if path is None or str(path) == data_io.STDIN:
            continue
        try:
            data_io.check_output(path, overwrite=force)
        except FileExistsError as error:
            raise click.ClickException(f"{option} {error}; --force replaces it") from None
        except OSError as error:
            raise click.ClickException(f"{option}: {error}") from None
        if not data_io.is_special_output(path):
            for name, given in [*input_files, *claimed.items()]:
                if _same_file(path, given):
                    raise click.ClickException(f"{option} {path} is also {name}; write it somewhere else")
            for name, folder in folders.items():
                if _would_be_shard(path, folder):
                    raise click.ClickException(
                        f"{option} {path} would be a shard of {name} ({folder}), whose every "
                        f"{data_io.NPY_SUFFIX} file is read as data; write it somewhere else"
                    )
        claimed[option] = path


def _shards(folder):
    """The files of ``folder`` that read as its shards (``data_io.shard_paths``' own, or TFRecord files)."""
    try:
        return [Path(folder) / name for name in sorted(os.listdir(folder)) if _is_shard_name(name)]
    except OSError:
        return []  # reading the data will say why


def _would_be_shard(path, folder):
    """Tell whether the file ``path`` names, or the file its links lead to, would be a shard of ``folder``."""
    return any(
        _is_shard_name(candidate.name) and _same_file(candidate.parent, folder)
        for candidate in (Path(os.path.abspath(path)), Path(os.path.realpath(path)))
    )


def _is_shard_name(name):
    return data_io.is_shard_name(name) or is_tfrecord_name(name)


def _same_file(a, b):
    a, b = Path(a), Path(b)
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def check_checkpoint(path):
    """Refuse, before any work, a ``--checkpoint`` path (or None: nothing) that cannot be made a folder."""
    check_folder("--checkpoint", path)


def check_folder(option, path):
    """Refuse, before any work, the folder of ``option`` (or None: nothing) that cannot be made or written."""
    if path is None:
        return
    try:
        data_io.check_folder(path)
    except OSError as error:
        raise click.ClickException(f"{option} {error}") from None


def checkpoint_folder(path):
    """Make the ``--checkpoint`` folder ``path`` for the body; ``made_folder`` says how."""
    return made_folder("--checkpoint", path)


@contextlib.contextmanager
def made_folder(option, path):
    """Make the folder ``path`` of ``option`` and its parents where missing, for the body (None: nothing).

    When the body fails, the folders made here are removed again if they are still empty: a
    failed fit leaves no folder behind, unless it saved a checkpoint there to resume from.
    """
    with contextlib.ExitStack() as stack:
        if path is not None:
            try:
                stack.enter_context(data_io.folder_made(path))
            except OSError as error:
                raise click.ClickException(f"{option} {error}") from None
        yield


@dataclasses.dataclass(frozen=True)
class Output:
    """One output of a command: its path (None: not asked for), how to write it, and what the note calls it.

    ``write(where)`` writes the output to the path ``where`` (a temporary file beside ``path``,
    or ``path`` itself for a device or FIFO), replacing what is there.
    """

    path: object
    write: object
    what: str
    folder: bool = False  # a new folder (a SavedModel's version folder), not a file


def check_saved_model(option, path):
    """Refuse, before any work, the base path of ``option``'s SavedModel (or None: nothing) if its version folder
    exists or the path cannot be a folder."""
    if path is None:
        return
    from kmeans_tf.serving import check_base_path  # TensorFlow: only for a command that writes a SavedModel

    try:
        check_base_path(path)
    except (OSError, ValueError) as error:
        raise click.ClickException(f"{option} {error}") from None


def write_outputs(outputs, console):
    """Write the ``Output``s asked for all or none (``data_io.write_all``); then say where each went."""
    given = [output for output in outputs if output.path is not None]
    data_io.write_all(
        [(output.path, output.write) for output in given],
        overwrite=True,  # claimed before any work
        folders=[output.path for output in given if output.folder],
    )
    for output in given:
        console.note(f"{output.what} written to {output.path}")


def labels_output(path, labels):
    """The labels as an ``Output``: an int32 array if ``path`` ends in .npy, else one per line, a chunk at a time."""
    return Output(path, lambda where: data_io.write_labels_chunked(where, labels, overwrite=True), "Labels")


def table_output(path, values, what, names=None, comment=None):
    """``values`` as an ``Output`` of the file type ``path`` names (CSV into a device or pipe), a ``# comment`` line
    first if given."""
    return Output(
        path, lambda where: data_io.write_table(where, values, names=names, overwrite=True, comment=comment), what
    )


def saved_model_output(path, centroids, metric):
    """The centroids as a SavedModel ``Output``: the version folder under the base path ``path`` (None: none)."""
    if path is None:
        return Output(None, None, "SavedModel")
    from kmeans_tf.distance_ops import check_centroids
    from kmeans_tf.serving import VERSION, write_saved_model

    centroids = check_centroids(centroids, metric)
    return Output(
        Path(path) / VERSION,
        lambda where: write_saved_model(centroids, where, metric=metric),
        "SavedModel",
        folder=True,
    )


def picture_output(path, draw):
    """The figure that ``draw()`` returns, drawn only when written, as a PNG ``Output``."""

    def write(where):
        from kmeans_tf.figures import save_figure

        save_figure(draw(), where, overwrite=True)

    return Output(path, write, "Picture")


def animation_output(path, samples, centroid_history, labels_history):
    """A run's animation as a GIF ``Output``."""

    def write(where):
        from kmeans_tf.figures import save_animation

        save_animation(samples, centroid_history, labels_history, where, overwrite=True)

    return Output(path, write, "Animation")


def print_labels(labels):
    """Print labels on stdout, one per line, a chunk at a time."""
    for start in range(0, len(labels), LABEL_CHUNK):
        click.echo(data_io.format_labels(labels[start : start + LABEL_CHUNK]), nl=False)


def cluster_sizes(labels, n_clusters):
    """Count the rows of each cluster, a chunk of labels at a time (labels may be a memory map)."""
    sizes = np.zeros(n_clusters, np.int64)
    for start in range(0, len(labels), LABEL_CHUNK):
        sizes += np.bincount(labels[start : start + LABEL_CHUNK], minlength=n_clusters)
    return sizes


def needs_two_columns(pictures, n_columns, what):
    """Refuse a picture option (name -> path or None) for data narrower than two columns."""
    for option, path in pictures.items():
        if path is not None and n_columns < 2:
            raise click.BadParameter(
                f"a picture needs at least 2 columns, {what} has {n_columns}", param_hint=f"'{option}'"
            )
