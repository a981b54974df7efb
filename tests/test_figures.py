"""kmeans_tf.figures and kmeans_tf.lesson_outputs: the pictures of a run, and where the lesson scripts write them."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from kmeans_tf.figures import (
    cost_curve_figure,
    elbow_figure,
    iterations_animation,
    save_animation,
    save_figure,
    trajectory_figure,
)
from kmeans_tf.lesson_outputs import derived_path, finish_lesson, lesson_outputs

SAMPLES = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [11.0, 10.0]], dtype=np.float32)
# A start, then two iterations (the second one changes nothing).
CENTROIDS = np.array([[[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [22 / 3, 20 / 3]], [[0.5, 0.0], [10.5, 10.0]]])
LABELS = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]])
COSTS = np.array([2 * (22 / 3 - 1) ** 2 + 1.0, 1.0])


def test_cost_curve_one_point_per_iteration_from_first():
    figure = cost_curve_figure(COSTS, log=True, first=0)
    (ax,) = figure.axes
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [0, 1])
    np.testing.assert_array_equal(line.get_ydata(), COSTS)
    assert ax.get_yscale() == "log"


def test_elbow_figure_draws_inertia_and_the_defined_silhouettes_and_marks_the_suggestion():
    figure = elbow_figure([1, 2, 3, 4], [100.0, 30.0, 10.0, 9.0], [np.nan, 0.5, 0.7, 0.6], suggested_k=3)
    inertia_ax, silhouette_ax = figure.axes
    np.testing.assert_array_equal(inertia_ax.lines[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(silhouette_ax.lines[0].get_xydata(), [[2, 0.5], [3, 0.7], [4, 0.6]])
    for ax in (inertia_ax, silhouette_ax):  # the suggestion: a vertical line at k = 3
        np.testing.assert_array_equal(ax.lines[1].get_xdata(), [3, 3])
    assert inertia_ax.texts[0].get_text() == "suggested k = 3"
    named = elbow_figure([1, 2, 3], [3.0, 2.0, 1.0], [np.nan, 0.1, 0.2], suggested_k=2, rule="gap-max")
    assert named.axes[0].texts[0].get_text() == "suggested k = 2 (gap-max)"
    assert len(elbow_figure([1, 2, 3], [3.0, 2.0, 1.0], [np.nan, 0.1, 0.2]).axes[0].lines) == 1


def test_trajectory_figure_draws_each_path_and_the_costs():
    figure = trajectory_figure(SAMPLES, CENTROIDS, COSTS, LABELS[-1])
    assert isinstance(figure, Figure)
    path_ax, cost_ax = figure.axes
    paths = path_ax.lines
    assert len(paths) == 2
    for cluster, path in enumerate(paths):
        np.testing.assert_array_equal(path.get_xydata(), CENTROIDS[:, cluster])
    start, end = path_ax.collections[1:]
    np.testing.assert_array_equal(start.get_offsets(), CENTROIDS[0])
    np.testing.assert_array_equal(end.get_offsets(), CENTROIDS[-1])
    assert start.get_paths()[0] is not end.get_paths()[0]
    np.testing.assert_array_equal(cost_ax.lines[0].get_xdata(), [1, 2])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: trajectory_figure(SAMPLES[:, :1], CENTROIDS, COSTS), r"samples should have shape \(n_samples, 2\)"),
        (lambda: trajectory_figure(SAMPLES, CENTROIDS[0], COSTS), "centroid_history should have shape"),
        (lambda: trajectory_figure(SAMPLES, CENTROIDS, COSTS, [0, 1, 2, 0]), r"labels should be in 0..1, got 0..2"),
        (lambda: iterations_animation(SAMPLES, CENTROIDS, LABELS[:2]), r"labels should have shape \(3, 4\)"),
        (lambda: cost_curve_figure([]), "costs should have shape"),
    ],
    ids=["one-column", "no-frames-axis", "label-out-of-range", "frames-mismatch", "no-costs"],
)
def test_bad_runs_are_refused_with_the_bad_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_save_animation_writes_one_gif_frame_per_entry(tmp_path):
    path = save_animation(SAMPLES, CENTROIDS, LABELS, tmp_path / "run.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(CENTROIDS)
    assert [p.name for p in tmp_path.iterdir()] == ["run.gif"]  # no temporary file left


def test_save_animation_needs_a_gif_name(tmp_path):
    with pytest.raises(ValueError, match="ending in .gif"):
        save_animation(SAMPLES, CENTROIDS, LABELS, tmp_path / "run.mp4")


@pytest.mark.parametrize(
    "save",
    [
        lambda path, **options: save_figure(cost_curve_figure(COSTS), path.with_suffix(".png"), **options),
        lambda path, **options: save_animation(SAMPLES, CENTROIDS, LABELS, path.with_suffix(".gif"), **options),
    ],
    ids=["figure", "animation"],
)
def test_an_existing_file_is_replaced_only_when_asked(tmp_path, save):
    for suffix in (".png", ".gif"):
        (tmp_path / f"mine{suffix}").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        save(tmp_path / "mine")
    assert {p.read_bytes() for p in tmp_path.iterdir()} == {b"keep"}
    written = save(tmp_path / "mine", overwrite=True)
    with Image.open(written) as image:
        assert image.format in ("PNG", "GIF")


def test_derived_paths_follow_the_main_figure(tmp_path):
    assert derived_path(tmp_path / "km.png", "trajectory.png") == tmp_path / "km_trajectory.png"
    paths = lesson_outputs(
        "kmeans_iterate.py", ("initial.png", "iterations.gif"), argv=["--output", str(tmp_path / "km.png")]
    )
    assert paths == [tmp_path / "km.png", tmp_path / "km_initial.png", tmp_path / "km_iterations.gif"]
    assert lesson_outputs("gd_kmeans.py", argv=[])[0].name == "gd_kmeans.png"


def test_help_lists_the_derived_files(capsys):
    with pytest.raises(SystemExit) as stopped:
        lesson_outputs("kmeans_iterate.py", ("trajectory.png", "iterations.gif"), argv=["--help"])
    assert stopped.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "STEM_trajectory.png, STEM_iterations.gif" in help_text


def test_missing_folder_stops_before_any_work(tmp_path):
    with pytest.raises(SystemExit, match="^Error: cannot write .*does not exist"):
        lesson_outputs("gd_kmeans.py", argv=["--output", str(tmp_path / "nope" / "gd.png")])


def test_finish_lesson_writes_and_names_every_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    figure_path, animation_path = tmp_path / "a.png", tmp_path / "a_run.gif"
    figure_path.write_bytes(b"an earlier run")
    finish_lesson(
        {figure_path: cost_curve_figure(COSTS)},
        animations={
            animation_path: lambda path, **options: save_animation(SAMPLES, CENTROIDS, LABELS, path, **options)
        },
    )
    assert capsys.readouterr().out.splitlines() == [
        f"Figure saved to {figure_path}",
        f"Animation saved to {animation_path}",
    ]
    with Image.open(figure_path) as png, Image.open(animation_path) as gif:
        assert png.format == "PNG" and gif.n_frames == 3
