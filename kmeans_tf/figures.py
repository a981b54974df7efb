"""Pictures of a k-means run: figures of the iterations, an animation of them, and saving both.

The drawing functions take numpy arrays from any run (the lessons, the eager engine, data
reduced to two columns or two principal components) and return a matplotlib ``Figure``;
none uses pyplot's global state or shows a window. Files are written atomically (a
temporary file beside the target, then ``os.replace``), and an existing file is replaced
only when the caller passes ``overwrite=True``.
"""

import io
import tempfile
from pathlib import Path

import numpy as np

from kmeans_tf.data_io import check_output, write_atomically

PNG_DPI = 100
GIF_SUFFIX = ".gif"
GIF_DPI = 80
FRAMES_PER_SECOND = 2
SAMPLE_SIZE = 12  # marker area of a sample under the paths: small, so the paths stay visible


def project_2d(samples, *others):
    """Return ``samples`` and each of ``others`` on the samples' first two principal components (numpy SVD).

    Data of two columns come back as they are. ``others`` are arrays of points with the
    samples' columns in their last axis (centroids, a history of centroids).
    """
    samples = np.asarray(samples, np.float64)
    if samples.shape[1] == 2:
        return (samples, *(np.asarray(points, np.float64) for points in others))
    mean = samples.mean(axis=0)
    _, _, components = np.linalg.svd(samples - mean, full_matrices=False)
    axes = np.zeros((samples.shape[1], 2))
    axes[:, : len(components[:2])] = components[:2].T  # a single row has one component
    return ((samples - mean) @ axes, *((np.asarray(points, np.float64) - mean) @ axes for points in others))


def cluster_colours(n_clusters):
    """Return one colour per cluster, the lesson's: matplotlib's rainbow map, evenly spaced."""
    from matplotlib import colormaps

    return colormaps["rainbow"](np.linspace(0, 1, n_clusters))


def _check_run(samples, centroid_history):
    """Return a run's samples, shape (n_samples, 2), and centroids, shape (n_frames >= 1, n_clusters, 2), checked."""
    samples = np.asarray(samples)
    centroid_history = np.asarray(centroid_history)
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"samples should have shape (n_samples, 2), got {samples.shape}")
    if centroid_history.ndim != 3 or centroid_history.shape[2] != 2 or len(centroid_history) == 0:
        raise ValueError(
            f"centroid_history should have shape (n_frames >= 1, n_clusters, 2), got {centroid_history.shape}"
        )
    return samples, centroid_history


def _check_labels(labels, shape, n_clusters):
    """Return ``labels`` as an array of the given shape, checked to hold cluster numbers 0..n_clusters - 1."""
    labels = np.asarray(labels)
    if labels.shape != shape:
        raise ValueError(f"labels should have shape {shape} (a cluster number per sample), got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_clusters):
        raise ValueError(f"labels should be in 0..{n_clusters - 1}, got {labels.min()}..{labels.max()}")
    return labels


def cost_curve_figure(costs, *, log=False, first=1, xlabel="iteration", ax=None):
    """Draw the cost after each iteration: a line with a dot per iteration.

    Parameters
    ----------
    costs : array of shape (n_iterations,)
    log : bool, default=False, a logarithmic cost axis
    first : int, default=1, the number of the iteration that ``costs[0]`` follows
    xlabel : str, default="iteration"
    ax : matplotlib Axes, default=None, draw there instead of on a new ``Figure``

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    costs = np.asarray(costs)
    if costs.ndim != 1 or len(costs) == 0:
        raise ValueError(f"costs should have shape (n_iterations >= 1,), got {costs.shape}")
    if ax is None:
        ax = Figure(figsize=(4, 3), layout="constrained").subplots()
    ax.plot(np.arange(first, first + len(costs)), costs, "-o", color="k", lw=1, ms=3)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cost")
    return ax.figure


def trajectory_figure(samples, centroid_history, costs, labels=None, *, log_cost=False, first=1, xlabel="iteration"):
    """Draw where the centroids went: their paths over the samples, and the cost beside.

    Each centroid's path is a line with a dot per iteration, from a white square (the
    start) to the lesson's magenta X (the end), dots in the centroid's cluster colour.

    Parameters
    ----------
    samples : array of shape (n_samples, 2)
    centroid_history : array of shape (n_frames, n_clusters, 2), the centroids at the start
        and after each iteration
    costs : array of shape (n_iterations,), drawn by ``cost_curve_figure``
    labels : array of shape (n_samples,), default=None, colours the samples by cluster
        (grey without it)
    log_cost, first, xlabel : passed to ``cost_curve_figure`` as ``log``, ``first``, ``xlabel``

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    samples, centroid_history = _check_run(samples, centroid_history)
    colours = cluster_colours(centroid_history.shape[1])
    figure = Figure(figsize=(10, 4.8), layout="constrained")
    path_ax, cost_ax = figure.subplots(1, 2, width_ratios=[2.5, 1])
    if labels is None:
        path_ax.scatter(*samples.T, color="0.7", lw=0, s=SAMPLE_SIZE)
    else:
        labels = _check_labels(labels, (len(samples),), len(colours))
        path_ax.scatter(*samples.T, color=colours[labels], lw=0, s=SAMPLE_SIZE, alpha=0.4)
    for cluster, colour in enumerate(colours):
        path_ax.plot(*centroid_history[:, cluster].T, "-o", color="k", lw=1.2, mfc=colour, mec="k", ms=5, zorder=3)
    path_ax.scatter(
        *centroid_history[0].T, marker="s", s=80, facecolor="w", edgecolor="k", lw=1.5, zorder=4, label="start"
    )
    path_ax.scatter(*centroid_history[-1].T, marker="X", s=220, color="m", edgecolor="k", lw=1.2, zorder=5, label="end")
    path_ax.legend(loc="best")
    cost_curve_figure(costs, log=log_cost, first=first, xlabel=xlabel, ax=cost_ax)
    return figure


def iterations_animation(samples, centroid_history, labels_history, *, interval_ms=1000 // FRAMES_PER_SECOND):
    """Build an animation of a run, one frame per entry of ``centroid_history``.

    Frame i colours each sample by ``labels_history[i]`` and draws the centroids of
    ``centroid_history[i]`` (the lesson's magenta X) with their paths so far; its title
    says which iteration it shows (``start`` for frame 0).

    Returns
    -------
    animation : matplotlib.animation.FuncAnimation
    """
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

    samples, centroid_history = _check_run(samples, centroid_history)
    labels_history = _check_labels(labels_history, (len(centroid_history), len(samples)), centroid_history.shape[1])
    colours = cluster_colours(centroid_history.shape[1])
    figure = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = figure.subplots()
    points = np.concatenate([samples, centroid_history.reshape(-1, 2)])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.05 * np.maximum(high - low, 1e-9)
    ax.set_xlim(low[0] - margin[0], high[0] + margin[0])
    ax.set_ylim(low[1] - margin[1], high[1] + margin[1])
    scatter = ax.scatter(*samples.T, lw=0, s=2 * SAMPLE_SIZE)
    paths = [ax.plot([], [], "-", color="k", lw=1.2)[0] for _ in colours]
    centroids = ax.scatter(*centroid_history[0].T, marker="X", s=220, color="m", edgecolor="k", lw=1.2, zorder=5)

    def draw(frame):
        scatter.set_color(colours[labels_history[frame]])
        for cluster, path in enumerate(paths):
            path.set_data(*centroid_history[: frame + 1, cluster].T)
        centroids.set_offsets(centroid_history[frame])
        ax.set_title("start" if frame == 0 else f"iteration {frame}")
        return [scatter, centroids, *paths]

    return FuncAnimation(figure, draw, frames=len(centroid_history), interval=interval_ms, blit=False)


def elbow_figure(k, inertia, silhouette, suggested_k=None, *, rule=None):
    """Draw the inertia (top) and the silhouette (bottom) against k, the suggested k marked in both.

    Parameters
    ----------
    k : array of shape (n_k,)
    inertia, silhouette : arrays of shape (n_k,); NaN silhouettes (k = 1) are left out
    suggested_k : int or None, default=None, drawn as a dashed vertical line
    rule : str or None, default=None, the rule that suggested it, named beside it where given

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 5.6), layout="constrained")
    inertia_ax, silhouette_ax = figure.subplots(2, 1, sharex=True)
    inertia_ax.plot(k, inertia, "-o", color="k", lw=1, ms=4)
    inertia_ax.set_ylabel("inertia (lower is tighter)")
    shown = ~np.isnan(np.asarray(silhouette, np.float64))
    silhouette_ax.plot(np.asarray(k)[shown], np.asarray(silhouette)[shown], "-o", color="tab:blue", lw=1, ms=4)
    silhouette_ax.set_ylabel("silhouette (higher is better)")
    silhouette_ax.set_xlabel("k, the number of clusters")
    silhouette_ax.xaxis.get_major_locator().set_params(integer=True)
    if suggested_k is not None:
        for ax in (inertia_ax, silhouette_ax):
            ax.axvline(suggested_k, color="m", ls="--", lw=1.2)
        inertia_ax.annotate(
            f"suggested k = {suggested_k}" + ("" if rule is None else f" ({rule})"),
            (suggested_k, 1),
            color="m",
            xycoords=("data", "axes fraction"),
            xytext=(4, -14),
            textcoords="offset points",
        )
    return figure


def save_figure(figure, path, *, overwrite=False):
    """Write ``figure`` as a PNG at ``path`` through a temporary file, so a failure leaves no half file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    write_atomically(path, buffer.getvalue(), overwrite=overwrite)
    return Path(path)


def save_animation(
    samples, centroid_history, labels_history, path, *, overwrite=False, fps=FRAMES_PER_SECOND, dpi=GIF_DPI
):
    """Write ``iterations_animation(samples, centroid_history, labels_history)`` as a GIF at ``path``.

    Parameters
    ----------
    samples : array of shape (n_samples, 2)
    centroid_history : array of shape (n_frames, n_clusters, 2), the centroids at the start and
        after each iteration
    labels_history : array of shape (n_frames, n_samples), each sample's cluster in each frame
    path : str or Path, ending in ``.gif`` (written with matplotlib's ``PillowWriter``)
    overwrite : bool, default=False, replace an existing file
    fps, dpi : frames per second and resolution of the GIF

    Returns
    -------
    path : Path
    """
    from matplotlib.animation import PillowWriter

    path = Path(path)
    if path.suffix.lower() != GIF_SUFFIX:
        raise ValueError(f"cannot write {path}: an animation is written as GIF, give a name ending in {GIF_SUFFIX}")
    check_output(path, overwrite=overwrite)  # before the frames are drawn
    animation = iterations_animation(samples, centroid_history, labels_history)
    with tempfile.TemporaryDirectory() as folder:
        drawn = Path(folder) / f"frames{GIF_SUFFIX}"  # PillowWriter picks the format from the name
        animation.save(drawn, writer=PillowWriter(fps=fps), dpi=dpi)
        write_atomically(path, drawn.read_bytes(), overwrite=overwrite)
    return path
