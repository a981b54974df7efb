"""Checkpoints of a streamed or distributed k-means: saved every few iterations, resumed by a rerun.

``kmeans(..., checkpoint=DIR, checkpoint_every=N)``: every N Lloyd iterations the chief (worker 0;
without a strategy, the process) writes ``DIR/kmeans-checkpoint.npz``: the iteration count, the
centroids and those of the iteration before (in the loops' coordinates, the data's dtype, exactly),
the data's column means and the options of the run. The file is written to a temporary file in DIR
and renamed over the old one (``os.replace``): a crash leaves the old checkpoint or the new one,
never part of one. A rerun with the same DIR, data and options resumes where the checkpoint left off
(``streaming.run_once`` says how, and why the answer is the uninterrupted one); a checkpoint written
for other data or options is refused. The file is removed when the fit ends.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

from kmeans_tf.engine.options import COSINE, EUCLIDEAN

FILE_NAME = "kmeans-checkpoint.npz"


class Checkpoint:
    """The checkpoint of one fit in ``directory`` (checked); ``chief``: whether this process writes it."""

    def __init__(self, directory, every, chief, options, mean):
        self.path = os.path.join(directory, FILE_NAME)
        self.every, self.chief, self.options, self.mean = every, chief, options, np.asarray(mean, np.float64)
        self.agree = None  # with a strategy: called with the iteration count read, the same on every worker or raises

    def load(self, initial):
        """Return ``(n_iter, previous centroids, centroids)`` from the file, or None without one; ValueError if it
        does not match this run (``initial``: its initial centroids, for their shape and dtype)."""
        resumed = self._read(initial) if os.path.exists(self.path) else None
        if self.agree is not None:
            self.agree(0 if resumed is None else resumed[0])
        return resumed

    def _read(self, initial):
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                options, mean = json.loads(str(saved["options"])), saved["mean"]
                n_iter, previous, centroids = int(saved["n_iter"]), saved["previous"], saved["centroids"]
        except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as error:
            raise ValueError(f"checkpoint {self.path} cannot be read ({error}); remove it to start over") from None
        self._check_fields(options, mean, n_iter, previous, centroids)
        for name, value in self.options.items():
            if options.get(name) != value:
                raise ValueError(
                    f"checkpoint {self.path} was written for {name}={options.get(name)!r}, this run has "
                    f"{name}={value!r}; remove it to start over"
                )
        if mean.shape != self.mean.shape or not np.allclose(mean, self.mean, rtol=1e-9, atol=0):
            raise ValueError(
                f"checkpoint {self.path} was written for other data (their column means differ); "
                f"remove it to start over"
            )
        for name, array in (("centroids", centroids), ("previous", previous)):
            if array.shape != initial.shape or array.dtype != initial.dtype:
                raise ValueError(
                    f"checkpoint {self.path} holds {name} of shape {array.shape} and dtype {array.dtype}, "
                    f"this run's are {initial.shape} and {initial.dtype}; remove it to start over"
                )
        return n_iter, previous, centroids

    def _check_fields(self, options, mean, n_iter, previous, centroids):
        """ValueError naming the first field of the file that no fit of these options writes."""
        faults = [
            (not isinstance(options, dict), "options that are not a record of names and values"),
            (mean.dtype.kind != "f" or not np.isfinite(mean).all(), "a column mean that is not finite numbers"),
            (
                not 1 <= n_iter < self.options["max_iter"],
                f"n_iter={n_iter}, outside [1, max_iter={self.options['max_iter']})",
            ),
            *(
                (array.dtype.kind != "f" or not np.isfinite(array).all(), f"{name} that are not finite numbers")
                for name, array in (("centroids", centroids), ("previous", previous))
            ),
        ]
        for fault, what in faults:
            if fault:
                raise ValueError(f"checkpoint {self.path} holds {what}; remove it to start over")

    def save(self, n_iter, previous, centroids):
        """Write the state after ``n_iter`` iterations if the chief and ``n_iter`` is a multiple of ``every``."""
        if not self.chief or n_iter % self.every:
            return
        handle = tempfile.NamedTemporaryFile(
            prefix=".kmeans-checkpoint-", suffix=".tmp", dir=os.path.dirname(self.path), delete=False
        )
        try:
            with handle:
                np.savez(
                    handle,
                    n_iter=n_iter,
                    previous=previous,
                    centroids=centroids,
                    mean=self.mean,
                    options=np.array(json.dumps(self.options)),
                )
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, self.path)
        except BaseException:
            os.unlink(handle.name)
            raise

    def remove(self):
        """The fit ended: the chief removes the file (a rerun starts over)."""
        if self.chief and os.path.exists(self.path):
            os.remove(self.path)


def make(directory, every, chief, prepared, n_rows, n_clusters, n_features, dtype, init, max_iter, tol, seed, weighted):
    """The ``Checkpoint`` of a fit (None without ``directory``): the options a rerun must repeat, and the data's
    mean and scale, and the metric (``prepared``, a ``StreamPrepared``)."""
    if directory is None:
        return None
    options = {
        "n_rows": int(n_rows),
        "n_clusters": int(n_clusters),
        "n_features": int(n_features),
        "dtype": str(np.dtype(dtype)),
        "init": init if isinstance(init, str) else "array",
        "max_iter": int(max_iter),
        "tol": float(tol),
        "seed": seed,
        "weighted": bool(weighted),
        "exponent": int(prepared.exponent),
        "metric": COSINE if prepared.unit else EUCLIDEAN,
    }
    return Checkpoint(directory, every, chief, options, prepared.data_mean)
