"""Choosing k: the rules by hand, ``eager.elbow`` against scikit-learn's scores, and ``kmeans-tf elbow``."""

import dataclasses
import json
import tempfile
import tracemalloc

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import datasets, metrics

import kmeans_tf
from compat import eager
from kmeans_tf import cli
from kmeans_tf.engine import gap_statistic
from kmeans_tf.engine.choosing_k import gap_max_rule, gap_rule, suggest
from kmeans_tf.engine.options import GAP_MAX_RULE, KNEEDLE_RULE, RULES
from tests.cases import assert_error, assert_png, random_case, run

# Four blobs, 40 apart, of standard deviation 1.
CORNERS = np.array([[0.0, 0.0], [40.0, 0.0], [0.0, 40.0], [40.0, 40.0]])


def four_blobs(seed, per_blob=100):
    rng = np.random.RandomState(seed)
    return np.concatenate([corner + rng.normal(size=(per_blob, 2)) for corner in CORNERS])


@pytest.fixture
def blobs_csv(tmp_path):
    path = tmp_path / "four.csv"
    path.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in four_blobs(0)))
    return path


def test_kneedle_by_hand():
    # k 1..6 scale to x = 0, .2, .4, .6, .8, 1; the inertia to y = 1, .348, .043, .022, .011, 0.
    # The line from the first point to the last is 1 - x: it lies above the curve by
    # 0, .452, .557, .378, .189, 0, farthest at k = 3.
    assert eager.kneedle([1, 2, 3, 4, 5, 6], [100, 40, 12, 10, 9, 8]) == 3
    # Only the shape counts: other units and other k spacings.
    assert eager.kneedle([2, 4, 6, 8, 10, 12], [1e6, 4e5, 1.2e5, 1e5, 9e4, 8e4]) == 6


@pytest.mark.parametrize(
    "inertia", [[5, 4, 3, 2, 1], [5, 5, 5, 5, 5], [5, 4.9, 4.5, 3, 1]], ids=["straight", "flat", "concave"]
)
def test_kneedle_finds_no_knee_on_a_curve_that_never_bends_below_its_chord(inertia):
    assert eager.kneedle([1, 2, 3, 4, 5], inertia) is None


def test_gap_rules_by_hand():
    k = [1, 2, 3, 4, 5]
    gap = [0.10, 0.30, 0.20, 0.90, 0.85]
    gap_se = [0.05, 0.05, 0.05, 0.10, 0.10]
    # The highest gap is 0.90 at k = 4: the smallest k with a gap >= 0.90 - 0.10 = 0.80 is 4.
    assert gap_max_rule(k, gap, gap_se) == 4
    # Tibshirani's rule stops at the first k with gap(k) >= gap(k + 1) - se(k + 1): 0.30 >= 0.20 - 0.05 at k = 2.
    assert gap_rule(k, gap, gap_se) == 2
    # Within a standard error of the highest at k = 1 (0.10 >= 0.12 - 0.05): no structure.
    assert gap_max_rule(k, [0.10, 0.12, 0.11, 0.09, 0.08], gap_se) is None
    assert gap_rule(k, [0.10, 0.12, 0.11, 0.09, 0.08], gap_se) is None
    # Still growing at the largest k: Tibshirani's rule finds no k; the maximum is the last.
    assert gap_rule(k, [0.1, 0.2, 0.4, 0.8, 1.6], gap_se) is None
    assert gap_max_rule(k, [0.1, 0.2, 0.4, 0.8, 1.6], gap_se) == 5


def test_every_rule_reads_its_score():
    result = eager.elbow(four_blobs(0), range(1, 7), seed=0)
    picked = {
        "silhouette": [np.nan, 0.4, 0.5, 0.9, 0.7, 0.6],
        "calinski_harabasz": [np.nan, 10.0, 30.0, 20.0, 5.0, 1.0],
        "davies_bouldin": [np.nan, 0.9, 0.8, 0.7, 0.2, 0.5],
        "inertia": [100.0, 40.0, 12.0, 10.0, 9.0, 8.0],
    }
    scores = dataclasses.replace(result, **{field: np.array(values) for field, values in picked.items()})
    assert suggest(scores, "silhouette") == 4
    assert suggest(scores, "calinski-harabasz") == 3
    assert suggest(scores, "davies-bouldin") == 5
    assert suggest(scores, "kneedle") == 3  # test_kneedle_by_hand's curve
    assert suggest(scores, "log-kneedle") == eager.kneedle(result.k, np.log(picked["inertia"]))


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
def test_elbow_on_four_blobs_suggests_four(seed):
    result = eager.elbow(four_blobs(seed), range(1, 11), seed=seed)
    assert result.suggested_k == 4 and result.rule == GAP_MAX_RULE
    assert int(result.k[np.nanargmax(result.gap)]) == 4
    np.testing.assert_array_equal(result.k, np.arange(1, 11))
    assert np.all(np.diff(result.inertia[:4]) < 0)
    assert int(result.k[np.nanargmax(result.silhouette)]) == 4


def five_blobs():
    """Five blobs in three columns, the closest two centres 8.6 standard deviations apart."""
    return datasets.make_blobs(1500, centers=5, n_features=3, cluster_std=0.7, random_state=5)[0]


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
def test_five_separated_blobs_give_five_where_the_kneedle_rule_gives_three(seed):
    result = eager.elbow(five_blobs(), range(2, 11), seed=seed)
    assert result.rule == GAP_MAX_RULE and result.suggested_k == 5
    assert int(result.k[np.nanargmax(result.silhouette)]) == 5
    # The inertia falls over 3-fold from 4 to 5 clusters and flattens after; but the first drop, from 2
    # to 3, is over 5 times as large in size, and the knee of the raw curve comes too soon.
    falls = result.inertia[:-1] / result.inertia[1:]
    assert falls[2] > 3 and (falls[3:] < 1.2).all()
    assert result.inertia[0] - result.inertia[1] > 5 * (result.inertia[2] - result.inertia[3])
    assert suggest(result, KNEEDLE_RULE) == 3


def test_five_separated_blobs_give_five_on_the_command_line(tmp_path):
    path = tmp_path / "five.csv"
    np.savetxt(path, five_blobs(), delimiter=",")
    result = run("elbow", path, "--k", "2:10", "--seed", 0)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("Suggested k: 5 (") and "--rule gap-max" in result.stdout
    summary = json.loads(run("elbow", path, "--k", "2:10", "--seed", 0, "--json").stdout)
    assert summary["suggested_k"] == 5 and summary["rule"] == "gap-max" and summary["gap_references"] == 5
    assert [row["k"] for row in summary["table"]] == list(range(2, 11))


def test_the_rule_does_not_change_the_fits_of_the_data():
    samples = four_blobs(5)
    by_gap = eager.elbow(samples, range(1, 7), seed=2, rule="gap-max")
    by_silhouette = eager.elbow(samples, range(1, 7), seed=2, rule="silhouette")
    for field in ("inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "n_iter", "silhouette_sample"):
        assert_array_equal(getattr(by_gap, field), getattr(by_silhouette, field), err_msg=field)
    assert np.isnan(by_silhouette.gap).all() and np.isfinite(by_gap.gap).all()
    assert suggest(by_gap, "silhouette") == by_silhouette.suggested_k


def test_reference_sets_fill_the_box_of_the_principal_axes():
    # A 10 x 1 rectangle turned by 30 degrees: the box of its principal axes is the rectangle itself.
    rng = np.random.RandomState(0)
    turn = np.array([[np.cos(np.pi / 6), np.sin(np.pi / 6)], [-np.sin(np.pi / 6), np.cos(np.pi / 6)]])
    samples = rng.uniform([0, 0], [10, 1], size=(2000, 2)) @ turn + [3.0, -2.0]
    box = gap_statistic.PrincipalBox.measure(lambda: iter([samples[:700], samples[700:]]))
    assert_allclose(np.abs(box.axes @ turn.T), np.eye(2)[::-1], atol=1e-2)  # eigh lists the short axis first
    assert_allclose(sorted(box.high - box.low), [1, 10], rtol=0.03)  # up to the axes' sampling error
    drawn = np.empty((2000, 2))
    box.draw(np.random.RandomState(1), drawn, 300)
    along = (drawn - box.mean) @ box.axes.T
    assert (along >= box.low - 1e-9).all() and (along <= box.high + 1e-9).all()
    assert_allclose(along.min(axis=0), box.low, atol=0.05)
    assert_allclose(along.max(axis=0), box.high, atol=0.05)
    again = np.empty((2000, 2))
    box.draw(np.random.RandomState(1), again, 2000)
    assert_array_equal(drawn, again)  # the same rows whatever the chunks


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_one_gaussian_has_no_structure_by_the_gap(seed, metric):
    samples = np.random.RandomState(seed).normal(size=(300, 5)) + (3.0 if metric == "cosine" else 0.0)
    result = eager.elbow(samples, range(1, 7), seed=seed, metric=metric)
    assert result.suggested_k is None
    assert np.isfinite(result.gap).all() and (result.gap_se > 0).all()


def test_the_gap_rules_find_directions_by_the_cosine_metric():
    directions = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    rng = np.random.RandomState(0)
    samples = np.concatenate([direction * rng.uniform(1, 5, (100, 1)) for direction in directions])
    samples += rng.normal(scale=0.05, size=samples.shape)
    for rule in ("gap-max", "gap"):
        assert eager.elbow(samples, range(1, 7), metric="cosine", seed=0, rule=rule).suggested_k == 3


def test_elbow_scores_are_sklearns_and_the_silhouette_uses_one_sample_for_every_k():
    samples = four_blobs(3)
    result = eager.elbow(samples, [1, 2, 4, 6], seed=7, silhouette_rows=150)
    rows = result.silhouette_sample
    assert len(rows) == len(np.unique(rows)) == 150
    assert np.isnan(result.silhouette[0]) and np.isnan(result.calinski_harabasz[0])
    assert np.isnan(result.davies_bouldin[0])  # k = 1: no score
    for i, k in enumerate(result.k[1:], start=1):
        fitted = eager.kmeans(samples, int(k), seed=7)
        assert result.inertia[i] == fitted.inertia and result.n_iter[i] == fitted.n_iter
        assert result.silhouette[i] == pytest.approx(
            metrics.silhouette_score(samples[rows], fitted.labels[rows]), rel=1e-12
        )
        assert result.calinski_harabasz[i] == pytest.approx(
            metrics.calinski_harabasz_score(samples, fitted.labels), rel=1e-12
        )
        assert result.davies_bouldin[i] == pytest.approx(
            metrics.davies_bouldin_score(samples, fitted.labels), rel=1e-12
        )


def test_elbow_same_seed_same_result_and_k_in_any_order():
    samples = four_blobs(4)
    first = eager.elbow(samples, [6, 2, 4], seed=1, silhouette_rows=100)
    again = eager.elbow(samples, [2, 4, 6], seed=1, silhouette_rows=100)
    fields = ("k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "silhouette_sample", "gap", "gap_se")
    for field in fields:
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))


def test_elbow_undefined_scores_are_nan_when_every_row_is_a_cluster():
    result = eager.elbow(np.arange(8.0).reshape(4, 2), [1, 2, 4], seed=0)
    assert np.isnan(result.silhouette[[0, 2]]).all() and np.isfinite(result.silhouette[1])
    assert result.inertia[2] == 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: eager.elbow(x, [0, 1, 2]), r"k_values: k=0 should be an integer in \[1, 400\]"),
        (lambda x: eager.elbow(x, [2, 3, 401]), r"k=401 should be an integer in \[1, 400\] \(n_samples=400\)"),
        (lambda x: eager.elbow(x, [2, 3, 3]), r"k_values=\[2, 3, 3\] should not repeat a value"),
        (lambda x: eager.elbow(x, [2, 3]), r"k_values=\[2, 3\] should hold at least 3 values"),
        (lambda x: eager.elbow(x, [2, 3, 4.5]), r"k=4.5 should be an integer"),
        (lambda x: eager.elbow(x, 5), r"k_values=5 should be a sequence of integers"),
        (lambda x: eager.elbow(x, [1, 2, 3], silhouette_rows=1), r"silhouette_rows=1 should be an integer >= 2"),
        (lambda x: eager.elbow(x, [1, 2, 3], seed=-1), r"seed=-1 should be an integer"),
        (lambda x: eager.elbow(x, [1, 2, 3], rule="elbow"), r"rule='elbow' should be one of 'gap-max', 'gap', "),
        (lambda x: eager.elbow(x, [1, 2, 3], gap_references=0), r"gap_references=0 should be an integer >= 1"),
    ],
    ids=["k<1", "k>n", "repeated", "two", "float", "not-a-sequence", "silhouette_rows", "seed", "rule", "references"],
)
def test_elbow_checks_its_inputs_at_the_door(call, message):
    with pytest.raises(ValueError, match=message):
        call(four_blobs(0))


def test_elbow_command_suggests_four_in_the_table_and_in_json(blobs_csv):
    result = run("elbow", blobs_csv, "--k", "1:8", "--init-seed", 0)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "k",
        "inertia",
        "silhouette",
        "Calinski-Harabasz",
        "Davies-Bouldin",
        "gap",
        "gap-s.e.",
    ]
    assert lines[1].split()[0] == "1" and lines[1].split()[2:5] == ["-", "-", "-"]
    assert [line.split()[0] for line in lines[1:9]] == [str(k) for k in range(1, 9)]
    assert lines[-1].startswith("Suggested k: 4 ") and "--rule gap-max" in lines[-1]
    summary = json.loads(run("elbow", blobs_csv, "--k", "1,2,3,4,6,8", "--init-seed", 0, "--json").stdout)
    assert summary["suggested_k"] == 4 and summary["rule"] == "gap-max"
    assert [row["k"] for row in summary["table"]] == [1, 2, 3, 4, 6, 8]
    assert max(summary["table"], key=lambda row: row["gap"])["k"] == 4 and summary["table"][3]["gap_se"] > 0
    assert summary["table"][0]["silhouette"] is None and summary["table"][3]["silhouette"] > 0.8
    assert summary["n_samples"] == 400 and summary["columns"] == ["x", "y"]


def test_elbow_table_matches_the_function(blobs_csv):
    summary = json.loads(run("elbow", blobs_csv, "--k", "2:5", "--init-seed", 3, "--json").stdout)
    samples = four_blobs(0)
    expected = eager.elbow(samples, [2, 3, 4, 5], seed=3)
    assert [row["inertia"] for row in summary["table"]] == pytest.approx(expected.inertia.tolist(), rel=1e-12)
    assert [row["silhouette"] for row in summary["table"]] == pytest.approx(expected.silhouette.tolist(), rel=1e-12)


@pytest.mark.parametrize(
    "k, fragment",
    [
        ("2", "gives 1 k values; choosing k needs at least 3"),
        ("2:3", "gives 2 k values"),
        ("5:2", "gives 0 k values"),
        ("0:5", "holds k=0; every k should be >= 1"),
        ("a:b", "should be A:B (every k from A to B) or a comma-separated list"),
        ("1:2:3", "should be A:B"),
        ("2,,4", "should be A:B"),
        ("2,3,3", "repeats a value"),
    ],
    ids=["one", "two", "reversed", "zero", "letters", "three-parts", "empty-item", "repeated"],
)
def test_bad_k_values_are_one_line_usage_errors(blobs_csv, k, fragment):
    assert_error(run("elbow", blobs_csv, "--k", k), "'--k'", fragment, exit_code=2)


def test_elbow_needs_k_and_enough_rows(tmp_path, blobs_csv):
    assert_error(run("elbow", blobs_csv), "Missing option '--k'", exit_code=2)
    small = tmp_path / "small.csv"
    small.write_text("1,2\n3,4\n5,6\n")
    assert_error(run("elbow", small, "--k", "1:4"), "has 3 rows, fewer than k=4")


def test_elbow_plot_is_a_png_and_claimed_before_any_work(monkeypatch, tmp_path, blobs_csv):
    picture = tmp_path / "elbow.png"
    result = run("elbow", blobs_csv, "--k", "1:6", "--init-seed", 0, "--plot", picture)
    assert result.exit_code == 0, result.output
    assert_png(picture)
    monkeypatch.setattr(kmeans_tf, "elbow", lambda *args, **kwargs: pytest.fail("fitted before the check"))
    assert_error(run("elbow", blobs_csv, "--k", "1:6", "--plot", picture), "--plot", "--force replaces it")
    assert_error(run("elbow", blobs_csv, "--k", "1:6", "--plot", tmp_path / "elbow.jpg"), "'--plot'", exit_code=2)


def test_elbow_progress_bar_only_on_a_terminal(monkeypatch, blobs_csv):
    assert "k values" not in run("elbow", blobs_csv, "--k", "1:3").stderr
    monkeypatch.setattr(cli.console, "stderr_is_terminal", lambda: True)
    assert "k values" in run("elbow", blobs_csv, "--k", "1:3").stderr
    assert run("elbow", blobs_csv, "--k", "1:3", "--quiet").stderr == ""


@pytest.mark.parametrize("rule", RULES)
def test_the_rule_option_picks_the_rule_and_json_names_it(blobs_csv, rule):
    summary = json.loads(run("elbow", blobs_csv, "--k", "1:6", "--init-seed", 0, "--rule", rule, "--json").stdout)
    assert summary["rule"] == rule and summary["suggested_k"] == 4
    assert ("gap" in summary["table"][0]) == (rule in ("gap-max", "gap"))
    assert summary["gap_references"] == (5 if rule in ("gap-max", "gap") else None)


def test_the_kneedle_rule_says_so_and_shows_no_gap(blobs_csv):
    result = run("elbow", blobs_csv, "--k", "1:6", "--init-seed", 0, "--rule", "kneedle")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[-1] == "Davies-Bouldin"
    assert result.stdout.splitlines()[-1] == (
        "Suggested k: 4 (the knee of the inertia curve by the kneedle rule; --rule kneedle)"
    )


def test_no_structure_is_said_in_words_and_as_null(tmp_path):
    path = tmp_path / "gaussian.csv"
    path.write_text("".join(f"{x},{y}\n" for x, y in np.random.RandomState(0).normal(size=(300, 2))))
    result = run("elbow", path, "--k", "1:6", "--seed", 0, "--gap-references", 3)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("Suggested k: none (the gap statistic finds no cluster structure")
    assert json.loads(run("elbow", path, "--k", "1:6", "--seed", 0, "--json").stdout)["suggested_k"] is None
    assert_error(run("elbow", path, "--k", "1:6", "--rule", "elbow"), "'--rule'", exit_code=2)
    assert_error(run("elbow", path, "--k", "1:6", "--gap-references", 0), "'--gap-references'", exit_code=2)


def test_elbow_help_names_the_rules():
    output = " ".join(run("elbow", "--help").output.split())
    assert "kneedle" in output and "Satop" in output and "kmeans-tf elbow " in output
    assert "--rule [gap-max|gap|silhouette|" in output and "Tibshirani" in output and "[default: gap-max]" in output
    assert "by default, by the gap statistic (--rule gap-max)" in output and "Its cost: every k is fitted" in output


@pytest.mark.parametrize(
    "k, largest",
    [("1:10000000000", 10**10), ("1:100000000", 10**8), ("2,100000000,3", 10**8)],
    ids=["1e10", "1e8", "list"],
)
def test_a_range_of_k_beyond_the_rows_is_refused_before_anything_is_built(blobs_csv, k, largest):
    tracemalloc.start()
    try:
        result = run("elbow", blobs_csv, "--k", k)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_error(result, f"{blobs_csv} has 400 rows, fewer than k={largest}")
    assert peak < 32 * 2**20, peak


def test_elbow_takes_fits_other_name_of_the_init_seed(blobs_csv):
    seeded = run("elbow", blobs_csv, "--k", "1:4", "--seed", 3, "--json")
    assert seeded.exit_code == 0, seeded.output
    assert seeded.stdout == run("elbow", blobs_csv, "--k", "1:4", "--init-seed", 3, "--json").stdout


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_streamed_and_sparse_rows_are_scored_as_rows_in_memory(monkeypatch, tmp_path, metric):
    samples, _ = random_case(0, 3000, 4, 4, np.float64)
    np.save(tmp_path / "rows.npy", samples)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    in_memory = kmeans_tf.elbow(samples, [2, 3, 4, 5], seed=0, metric=metric)
    streamed = kmeans_tf.elbow(
        np.load(tmp_path / "rows.npy", mmap_mode="r"), [2, 3, 4, 5], seed=0, metric=metric, memory_budget=2**20
    )
    sparse_rows = kmeans_tf.elbow(scipy.sparse.csr_matrix(samples), [2, 3, 4, 5], seed=0, metric=metric)
    for scored in (streamed, sparse_rows):
        assert_array_equal(scored.silhouette_sample, in_memory.silhouette_sample)
        for field in ("inertia", "silhouette", "calinski_harabasz", "davies_bouldin"):
            assert_allclose(getattr(scored, field), getattr(in_memory, field), rtol=1e-9, err_msg=field)
        assert suggest(scored, "silhouette") == suggest(in_memory, "silhouette")
    # The streamed reference sets, written to the temporary folder a chunk at a time and removed, are those
    # drawn in memory; sparse rows draw theirs otherwise (their values moved to other columns).
    assert_allclose(streamed.gap, in_memory.gap, rtol=1e-6)
    assert_allclose(streamed.gap_se, in_memory.gap_se, rtol=1e-6)
    assert streamed.suggested_k == in_memory.suggested_k and list(scratch.iterdir()) == []
    assert np.isfinite(sparse_rows.gap).all() and (sparse_rows.gap_se > 0).all()


def test_elbow_streams_npy_data_with_a_gap_rule_on_the_command_line(tmp_path, blobs_csv):
    np.save(tmp_path / "four.npy", four_blobs(0))
    from_npy = json.loads(run("elbow", tmp_path / "four.npy", "--k", "1:6", "--seed", 0, "--json").stdout)
    from_csv = json.loads(run("elbow", blobs_csv, "--k", "1:6", "--seed", 0, "--json").stdout)
    assert from_npy["suggested_k"] == from_csv["suggested_k"] == 4 and from_npy["rule"] == "gap-max"
    for streamed, in_memory in zip(from_npy["table"], from_csv["table"]):
        assert streamed["gap"] == pytest.approx(in_memory["gap"], rel=1e-6)
