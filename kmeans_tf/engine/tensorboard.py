"""A fit's log for TensorBoard (``log_dir=``): each iteration's numbers, and the centroids in the Embedding Projector.

``TensorBoardLog`` is a callback of the fit (``progress.Watch`` calls it before the user's).
What it writes in ``log_dir``:

- ``run-0/``, ``run-1/``, ...: one folder of event files per ``n_init`` run, each iteration
  (mini-batch step) at its step number: the scalars ``inertia``, ``shift``, ``changed`` and
  ``skipped`` (the share of rows the distance bounds proved; neither for mini-batch steps)
  and ``seconds`` of its ``IterationState`` (float64, as the state holds them), and the
  histogram ``cluster_sizes`` of its clusters' sizes;
- once the fit ends, in the folder of the run returned, its centroids for TensorBoard's
  projector: ``centroids.tsv`` (a row a centroid), ``metadata.tsv`` (each centroid's index and
  its size at the run's last iteration) and ``projector_config.pbtxt``. The projector reads
  them in a run's folder, whether ``tensorboard --logdir`` names ``log_dir`` or a folder above.

Written with TensorBoard's own writers (no TensorFlow summary ops), so that a fit whose
iterations run inside one TensorFlow call can log them from within. ``pip install
'kmeans-tf[tensorboard]'`` installs TensorBoard.
"""

import os
import time

import numpy as np

INSTALL_HINT = "pip install 'kmeans-tf[tensorboard]'"
RUN_FOLDER = "run-{}"
SCALARS = ("inertia", "shift", "changed", "skipped", "seconds")  # fields of IterationState, each a scalar of its name
SIZES = "cluster_sizes"
CENTROIDS_FILE = "centroids.tsv"
METADATA_FILE = "metadata.tsv"
METADATA_HEADER = "cluster\tsize"
EMBEDDING_NAME = "centroids"


def require():
    """Return TensorBoard's writers and protos, or raise ImportError naming the extra that installs them."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins import projector
        from tensorboard.plugins.histogram import summary_v2 as histogram
        from tensorboard.plugins.scalar import metadata as scalar_metadata
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        from tensorboard.util import tensor_util
    except ImportError:
        raise ImportError(f"log_dir needs TensorBoard, which is not installed: {INSTALL_HINT}") from None
    return event_pb2, summary_pb2, projector, histogram, scalar_metadata, EventFileWriter, tensor_util


def check_log_dir(log_dir):
    """Return ``log_dir`` as a str; ValueError unless it is a path (str or path-like) where a folder is or may be."""
    try:
        path = os.fspath(log_dir)
    except TypeError:
        raise ValueError(f"log_dir={log_dir!r} should be a folder's path (str or path-like), or None") from None
    if not isinstance(path, str) or not path:
        raise ValueError(f"log_dir={log_dir!r} should be a folder's path (str or path-like), or None")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"log_dir={path!r} should be a folder (or a path to make one), not a file")
    return path


class TensorBoardLog:
    """The log of one fit in ``log_dir`` (the module's docstring); folders are made at the first iteration."""

    def __init__(self, log_dir):
        self.log_dir = check_log_dir(log_dir)
        self._modules = require()
        self._writers, self._sizes = {}, {}

    def __call__(self, state):
        """Write one iteration's scalars and histogram, in its run's folder."""
        event_pb2, summary_pb2, _, histogram, scalar_metadata, EventFileWriter, tensor_util = self._modules
        if state.run not in self._writers:
            self._writers[state.run] = EventFileWriter(os.path.join(self.log_dir, RUN_FOLDER.format(state.run)))
        summary = summary_pb2.Summary()
        for tag in SCALARS:
            value = getattr(state, tag)
            if value is not None:
                summary.value.add(
                    tag=tag,
                    metadata=scalar_metadata.create_summary_metadata(display_name=None, description=None),
                    tensor=tensor_util.make_tensor_proto(np.float64(value)),
                )
        summary.MergeFrom(histogram.histogram_pb(SIZES, state.sizes))
        self._writers[state.run].add_event(
            event_pb2.Event(wall_time=time.time(), step=state.iteration, summary=summary)
        )
        self._sizes[state.run] = state.sizes

    def finish(self, run, result):
        """Write the centroids of ``result`` (the fit's answer, from run number ``run``) for the projector."""
        projector = self._modules[2]
        folder = os.path.join(self.log_dir, RUN_FOLDER.format(run))
        os.makedirs(folder, exist_ok=True)
        centroids = np.asarray(result.centroids, np.float64)
        np.savetxt(os.path.join(folder, CENTROIDS_FILE), centroids, fmt="%.17g", delimiter="\t")
        sizes = self._sizes.get(run, np.zeros(len(centroids)))
        with open(os.path.join(folder, METADATA_FILE), "w") as metadata:
            metadata.write(METADATA_HEADER + "\n")
            metadata.writelines(f"{index}\t{size:.17g}\n" for index, size in enumerate(sizes))
        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name, embedding.tensor_path, embedding.metadata_path = (
            EMBEDDING_NAME,
            CENTROIDS_FILE,
            METADATA_FILE,
        )
        projector.visualize_embeddings(folder, config)

    def close(self):
        """Flush and close every run's event file."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
