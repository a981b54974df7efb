/* The kernel's door: the eight ops TensorFlow sees, registered when TensorFlow loads the
 * library, and their compute functions, which check every input before the pass
 * (pass.h) reads it. The ops, namespaced KmeansTf> (in Python: kmeans_tf_<snake_case>,
 * mapped to the engine's names by kmeans_tf/native/ops.py):
 *
 * KmeansTf>NearestCentroidSums: every sample's nearest centroid, and every cluster's
 *   exact sum and count of its samples.
 * KmeansTf>NearestCentroidChanges: the same, but sums only the samples whose label changed
 *   since the labels given (+ in the new cluster, - in the old one; -1: no label yet),
 *   which update the k-means loop's running sums.
 * KmeansTf>NearestCentroidChangesBounded: the same changes, but keeps Hamerly's distance
 *   bounds per sample and measures only the samples whose label may change, with the same
 *   arithmetic: the same labels and bit-identical changes; it also says how many labels
 *   the bounds proved (`skipped`).
 * KmeansTf>SumSquaredDistances: the inertia of given labels, exactly, in float64.
 * KmeansTf>ClusterSums: the exact sums of given labels' clusters, as float64 values.
 * KmeansTf>ClusterMeans: those sums' values over a given float64 divisor per cluster (its
 *   weight), rounded to the samples' dtype: the M-step's means, with no float64 sums held.
 * KmeansTf>ExactAdd: two exact sums added, and their float64 values (the M-step's input).
 * KmeansTf>AlignedCopy: a copy of a tensor in a buffer of TensorFlow's own. The sparse ops read
 *   the caller's CSR arrays in place (kmeans_tf/engine/csr_rows.py), where they need not be
 *   aligned as TensorFlow's own kernels require; a copy lets those read them.
 *
 * Each op but ExactAdd and AlignedCopy has a sparse twin, KmeansTf>Sparse<name>
 * (KmeansTf>SparseNearestCentroidSums and the rest), whose samples are compressed sparse rows (scipy's CSR) in four inputs in place of
 * the dense `samples` input: row_starts (int64 [n_samples + 1]: row i's non-zeros are
 * entries row_starts[i] up to row_starts[i + 1]), columns (int32 [nnz], increasing within a
 * row, no duplicates), values (T [nnz]) and n_columns (an int64 scalar); a row may have no
 * non-zeros. Its other inputs and its outputs are the dense op's, and so is its answer on
 * the samples made dense; the pass reads the non-zeros alone. One exception: the sparse
 * passes that take old labels (the changes ops) give no sums, an empty [n_clusters, 0, 3]:
 * sparse rows' sums come whole from KmeansTf>SparseClusterSums, which holds no
 * (n_clusters, n_features, 3) limbs, where rows of many columns would make them outweigh
 * the rows.
 *
 * samples and centroids are float or double matrices with the same columns, and at least
 * one centroid; labels, bounds and norms have one entry per sample; a label must be the
 * index of a centroid (or -1, no label yet, where the op says so). Any other input fails
 * the op with INVALID_ARGUMENT, naming the input; it is never read out of bounds.
 *
 * The passes' sums and counts are exact (pass.h): each term rounded to whole units, with
 * the input `exponents` (float64 [n_features + 1], whole numbers in [-2000, 2000]: per column
 * a unit is 2**-exponent of weight x value, last of the weights), added exactly (pass.c), and
 * given as normalized float64 limbs, a last axis of 3 (kmeans_tf/engine/exact.py): sums
 * [n_clusters, n_features, 3], counts [n_clusters, 3]. They are the same integers however
 * the rows are split.
 *
 * Every op takes the samples' weights last: a float64 vector of one entry per sample, each
 * finite and >= 0 (checked as the pass reads the rows), or of shape [0], which means every
 * weight is 1 (the unweighted pass, whose row loop is a separate instantiation without the
 * weights). A sample then counts as its weight: the sums are of weight * sample, the
 * counts of the weights, the inertia of weight * squared distance. The passes also give
 * `members`, per cluster the (exact) number of samples of weight > 0, or the change in it:
 * a cluster is empty when it has none, whatever rounding did to its running weight. Without
 * weights the members are the counts.
 *
 * Plain C against TensorFlow's C kernel API (tensorflow/c/kernels.h), so that gcc alone
 * builds it: kmeans_tf/native/build.py. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ops.h names these structs without `struct`, which only C++ accepts. */
typedef struct TF_DimensionHandle TF_DimensionHandle;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
#include "tensorflow/c/kernels.h"
#include "tensorflow/c/ops.h"

#include "limbs.h"
#include "pass.h"

/* Each op's inputs and outputs by index: the order OPS (below) declares them in. Every op's
 * first input is its samples, which a sparse op takes as four inputs (SPARSE_PARTS). */
enum { SUMS_SAMPLES, SUMS_CENTROIDS, SUMS_EXPONENTS, SUMS_WEIGHTS, SUMS_N_INPUTS };
enum { SUMS_LABELS_OUT, SUMS_SUMS_OUT, SUMS_COUNTS_OUT, SUMS_MEMBERS_OUT, SUMS_N_OUTPUTS };

enum { CHANGES_SAMPLES, CHANGES_CENTROIDS, CHANGES_LABELS, CHANGES_EXPONENTS, CHANGES_WEIGHTS, CHANGES_N_INPUTS };
enum {
    CHANGES_LABELS_OUT, CHANGES_SUMS_OUT, CHANGES_COUNTS_OUT, CHANGES_MEMBERS_OUT, CHANGES_CHANGED_OUT,
    CHANGES_N_OUTPUTS
};

enum {
    BOUNDED_SAMPLES, BOUNDED_CENTROIDS, BOUNDED_PREVIOUS_CENTROIDS, BOUNDED_LABELS, BOUNDED_UPPER, BOUNDED_LOWER,
    BOUNDED_NORMS, BOUNDED_NORM_BOUND, BOUNDED_EXPONENTS, BOUNDED_WEIGHTS, BOUNDED_N_INPUTS
};
enum {
    BOUNDED_LABELS_OUT, BOUNDED_UPPER_OUT, BOUNDED_LOWER_OUT, BOUNDED_SUMS_OUT, BOUNDED_COUNTS_OUT,
    BOUNDED_MEMBERS_OUT, BOUNDED_CHANGED_OUT, BOUNDED_SKIPPED_OUT, BOUNDED_N_OUTPUTS
};

enum { INERTIA_SAMPLES, INERTIA_CENTROIDS, INERTIA_LABELS, INERTIA_WEIGHTS, INERTIA_N_INPUTS };
enum { INERTIA_TOTAL_OUT, INERTIA_N_OUTPUTS };

enum { CLUSTER_SAMPLES, CLUSTER_CENTROIDS, CLUSTER_LABELS, CLUSTER_EXPONENTS, CLUSTER_WEIGHTS, CLUSTER_N_INPUTS };
enum { CLUSTER_SUMS_OUT, CLUSTER_N_OUTPUTS };

enum { MEANS_SAMPLES, MEANS_CENTROIDS, MEANS_LABELS, MEANS_EXPONENTS, MEANS_DIVISORS, MEANS_WEIGHTS, MEANS_N_INPUTS };
enum { MEANS_OUT, MEANS_N_OUTPUTS };

enum { SPARSE_ROW_STARTS, SPARSE_COLUMNS, SPARSE_VALUES, SPARSE_N_COLUMNS, SPARSE_PARTS };

enum { MAX_INPUTS = BOUNDED_N_INPUTS, MAX_OUTPUTS = BOUNDED_N_OUTPUTS };

enum { MAX_COPY_DIMS = 8 }; /* AlignedCopy's largest rank */

/* One call of an op: its context and status, and the tensors it holds (finish deletes them).
 * A sparse op's samples are in `parts`, its other inputs in `in` at the dense op's indices. */
typedef struct {
    TF_OpKernelContext *context;
    TF_Status *status;
    TF_Tensor *in[MAX_INPUTS], *out[MAX_OUTPUTS], *parts[SPARSE_PARTS];
    int sparse;
    SparseRows rows;
    double *factors; /* the passes' units (read_exponents) */
} Call;

/* Whether the call's last TensorFlow request succeeded; if not, fail the op. */
static int ok(Call *call) {
    if (TF_GetCode(call->status) == TF_OK) return 1;
    TF_OpKernelContext_Failure(call->context, call->status);
    return 0;
}

/* Fail the op with `code` and a printf-style message; return 0. */
static int fail(Call *call, TF_Code code, const char *format, ...) {
    char message[512];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    TF_SetStatus(call->status, code, message);
    TF_OpKernelContext_Failure(call->context, call->status);
    return 0;
}

/* Start a call of an op of n_inputs inputs (its samples counted as one), sparse where
 * `sparse` is not NULL (the kernel's data: see register_op): get its inputs. */
static int start(Call *call, TF_OpKernelContext *context, const void *sparse, int n_inputs) {
    *call = (Call){.context = context, .status = TF_NewStatus(), .sparse = sparse != NULL};
    const int shift = call->sparse ? SPARSE_PARTS - 1 : 0;
    for (int i = 0; i < n_inputs + shift; ++i) {
        TF_Tensor **tensor = !call->sparse ? &call->in[i] : i < SPARSE_PARTS ? &call->parts[i] : &call->in[i - shift];
        TF_GetInput(context, i, tensor, call->status);
        if (!ok(call)) return 0;
    }
    return 1;
}

static void finish(Call *call) {
    for (int i = 0; i < MAX_INPUTS; ++i) TF_DeleteTensor(call->in[i]);
    for (int i = 0; i < MAX_OUTPUTS; ++i) TF_DeleteTensor(call->out[i]);
    for (int i = 0; i < SPARSE_PARTS; ++i) TF_DeleteTensor(call->parts[i]);
    TF_DeleteStatus(call->status);
    free(call->factors);
}

/* Allocate output `index` (of `type`, with `rank` dims of `shape`); return its data or NULL. */
static void *output(Call *call, int index, TF_DataType type, const int64_t *shape, int rank) {
    int64_t count = 1;
    for (int i = 0; i < rank; ++i) count *= shape[i];
    call->out[index] = TF_AllocateOutput(call->context, index, type, shape, rank, count * TF_DataTypeSize(type),
                                         call->status);
    return ok(call) ? TF_TensorData(call->out[index]) : NULL;
}

/* Write `tensor`'s shape as "[2, 3]" into `text`; return `text`. */
static const char *shape_text(const TF_Tensor *tensor, char *text, size_t size) {
    size_t used = (size_t)snprintf(text, size, "[");
    for (int d = 0; d < TF_NumDims(tensor) && used < size; ++d)
        used += (size_t)snprintf(text + used, size - used, d ? ", %" PRId64 : "%" PRId64, TF_Dim(tensor, d));
    if (used < size) snprintf(text + used, size - used, "]");
    return text;
}

/* Write input `index`'s shape as "[2, 3]" into `text`; return `text`. */
static const char *shape_of(const Call *call, int index, char *text, size_t size) {
    return shape_text(call->in[index], text, size);
}

/* Check a sparse op's samples (row_starts [n_samples + 1], columns [nnz], values [nnz] and the
 * scalar n_columns, the centroids' columns; every row's columns in range and increasing) in
 * one sweep over the columns; describe them in `points`. */
static int read_sparse_samples(Call *call, const TF_Tensor *centroids, Points *points) {
    const TF_Tensor *row_starts = call->parts[SPARSE_ROW_STARTS], *columns = call->parts[SPARSE_COLUMNS];
    const TF_Tensor *values = call->parts[SPARSE_VALUES], *n_columns = call->parts[SPARSE_N_COLUMNS];
    char shape[64];
    if (TF_NumDims(row_starts) != 1 || TF_Dim(row_starts, 0) < 1)
        return fail(call, TF_INVALID_ARGUMENT, "row_starts must be of shape [n_samples + 1], not %s",
                    shape_text(row_starts, shape, sizeof shape));
    if (TF_NumDims(columns) != 1)
        return fail(call, TF_INVALID_ARGUMENT, "columns must be of shape [nnz], not %s",
                    shape_text(columns, shape, sizeof shape));
    const int64_t nnz = TF_Dim(columns, 0), n_samples = TF_Dim(row_starts, 0) - 1;
    if (TF_NumDims(values) != 1 || TF_Dim(values, 0) != nnz)
        return fail(call, TF_INVALID_ARGUMENT, "values must have one entry per column, shape [%" PRId64 "], not %s",
                    nnz, shape_text(values, shape, sizeof shape));
    if (TF_NumDims(n_columns) != 0)
        return fail(call, TF_INVALID_ARGUMENT, "n_columns must be a scalar, not of shape %s",
                    shape_text(n_columns, shape, sizeof shape));
    const int64_t n_features = *(const int64_t *)TF_TensorData(n_columns);
    if (TF_NumDims(centroids) != 2 || n_features != TF_Dim(centroids, 1))
        return fail(call, TF_INVALID_ARGUMENT,
                    "samples and centroids must be matrices with the same columns, not of %" PRId64
                    " columns (n_columns) and shape %s",
                    n_features, shape_text(centroids, shape, sizeof shape));
    call->rows = (SparseRows){
        .row_starts = TF_TensorData(row_starts), .columns = TF_TensorData(columns), .values = TF_TensorData(values)};
    const int64_t *starts = call->rows.row_starts;
    const int32_t *column = call->rows.columns;
    if (starts[0] != 0 || starts[n_samples] != nnz)
        return fail(call, TF_INVALID_ARGUMENT,
                    "row_starts must run from 0 to nnz = %" PRId64 ", not from %" PRId64 " to %" PRId64, nnz,
                    starts[0], starts[n_samples]);
    for (int64_t row = 0; row < n_samples; ++row) {
        if (starts[row + 1] < starts[row] || starts[row + 1] > nnz)
            return fail(call, TF_INVALID_ARGUMENT,
                        "row_starts[%" PRId64 "] = %" PRId64 " follows %" PRId64 ": they must not decrease, up to nnz",
                        row + 1, starts[row + 1], starts[row]);
        const int64_t length = starts[row + 1] - starts[row];
        if (length > call->rows.longest_row) call->rows.longest_row = length;
        for (int64_t j = starts[row]; j < starts[row + 1]; ++j) {
            if (column[j] < 0 || column[j] >= n_features)
                return fail(call, TF_INVALID_ARGUMENT,
                            "columns[%" PRId64 "] = %d (row %" PRId64 ") is outside [0, %" PRId64 ")", j, column[j],
                            row, n_features);
            if (j > starts[row] && column[j] <= column[j - 1])
                return fail(call, TF_INVALID_ARGUMENT,
                            "columns[%" PRId64 "] = %d follows %d in row %" PRId64
                            ": an unsorted or duplicate column; each row's columns must increase",
                            j, column[j], column[j - 1], row);
        }
    }
    points->sparse = &call->rows;
    points->n_samples = n_samples;
    points->n_features = n_features;
    return 1;
}

/* Check samples and centroids (matrices with the same columns, at least one centroid) and
 * the weights' shape ([n_samples], or [0]: every weight 1), and describe them in `points`.
 * The weights' values are checked as the pass reads them. */
static int read_points(Call *call, int samples_index, int centroids_index, int weights_index, Points *points) {
    const TF_Tensor *samples = call->in[samples_index], *centroids = call->in[centroids_index];
    char shape[2][64];
    *points = (Points){.centroids = TF_TensorData(centroids), .is_float = TF_TensorType(centroids) == TF_FLOAT};
    if (call->sparse) {
        if (!read_sparse_samples(call, centroids, points)) return 0;
    } else if (TF_NumDims(samples) != 2 || TF_NumDims(centroids) != 2 || TF_Dim(samples, 1) != TF_Dim(centroids, 1)) {
        return fail(call, TF_INVALID_ARGUMENT,
                    "samples and centroids must be matrices with the same columns, not of shapes %s and %s",
                    shape_of(call, samples_index, shape[0], sizeof shape[0]),
                    shape_of(call, centroids_index, shape[1], sizeof shape[1]));
    } else {
        points->samples = TF_TensorData(samples);
        points->n_samples = TF_Dim(samples, 0);
        points->n_features = TF_Dim(samples, 1);
    }
    points->n_clusters = TF_Dim(centroids, 0);
    if (points->n_clusters == 0) return fail(call, TF_INVALID_ARGUMENT, "centroids must have at least one row");
    if (points->is_float && points->n_clusters > MAX_FLOAT_CENTROIDS)
        return fail(call, TF_INVALID_ARGUMENT, "float32 centroids must have at most %" PRId64 " rows, not %" PRId64,
                    MAX_FLOAT_CENTROIDS, points->n_clusters);
    const TF_Tensor *weights = call->in[weights_index];
    if (TF_NumDims(weights) != 1 || (TF_Dim(weights, 0) != points->n_samples && TF_Dim(weights, 0) != 0))
        return fail(call, TF_INVALID_ARGUMENT,
                    "weights must have one entry per sample, shape [%" PRId64 "], or shape [0] (every weight 1), "
                    "not %s", points->n_samples, shape_of(call, weights_index, shape[0], sizeof shape[0]));
    points->weights = TF_Dim(weights, 0) ? TF_TensorData(weights) : NULL;
    return 1;
}

/* Check that input `index` (called `name`) is a vector of one entry per sample. */
static int check_per_sample(Call *call, int index, const char *name, int64_t n_samples) {
    char shape[64];
    if (TF_NumDims(call->in[index]) == 1 && TF_Dim(call->in[index], 0) == n_samples) return 1;
    return fail(call, TF_INVALID_ARGUMENT, "%s must have one entry per sample, shape [%" PRId64 "], not %s", name,
                n_samples, shape_of(call, index, shape, sizeof shape));
}

/* Check input `index`, the exponents (shape [n_features + 1], each a whole number in [-2000, 2000]), and give
 * `points` their factors: two powers of two per exponent, each within float64's range. */
static int read_exponents(Call *call, int index, Points *points) {
    char shape[64];
    const TF_Tensor *tensor = call->in[index];
    if (TF_NumDims(tensor) != 1 || TF_Dim(tensor, 0) != points->n_features + 1)
        return fail(call, TF_INVALID_ARGUMENT,
                    "exponents must have one entry per feature and one more, shape [%" PRId64 "], not %s",
                    points->n_features + 1, shape_of(call, index, shape, sizeof shape));
    const double *exponents = TF_TensorData(tensor);
    call->factors = malloc(2 * (points->n_features + 1) * sizeof(double));
    if (!call->factors) return fail(call, TF_RESOURCE_EXHAUSTED, "out of memory");
    for (int64_t f = 0; f <= points->n_features; ++f) {
        const double exponent = exponents[f];
        if (!(exponent >= -2000 && exponent <= 2000 && exponent == (double)(int)exponent))
            return fail(call, TF_INVALID_ARGUMENT, "exponents[%" PRId64 "] = %g should be a whole number in [-2000, 2000]",
                        f, exponent);
        const int first = exponent > 1000 ? 1000 : exponent < -1000 ? -1000 : (int)exponent;
        call->factors[f] = ldexp(1, first);
        call->factors[points->n_features + 1 + f] = ldexp(1, (int)exponent - first);
    }
    points->factors = call->factors;
    return 1;
}

/* Allocate a pass's labels (output `labels`), sums (output `sums`), counts and members (the two
 * outputs after the sums: each op's enum keeps them in this order). A sparse pass with
 * `old_labels` gives no sums: an empty [n_clusters, 0, LIMBS], and out->sums NULL. */
static int allocate_pass_outputs(Call *call, const Points *points, int labels, int sums, int old_labels,
                                 PassOutput *out) {
    const int whole = !(call->sparse && old_labels);
    const int64_t rows[1] = {points->n_samples}, clusters[1] = {points->n_clusters};
    const int64_t grid[3] = {points->n_clusters, whole ? points->n_features : 0, LIMBS};
    const int64_t cluster_limbs[2] = {points->n_clusters, LIMBS};
    out->labels = output(call, labels, TF_INT64, rows, 1);
    out->sums = out->labels ? output(call, sums, TF_DOUBLE, grid, 3) : NULL;
    if (TF_GetCode(call->status) != TF_OK) return 0;
    if (!whole) out->sums = NULL;
    out->counts = output(call, sums + 1, TF_DOUBLE, cluster_limbs, 2);
    out->members = out->counts ? output(call, sums + 2, TF_DOUBLE, clusters, 1) : NULL;
    return out->members != NULL;
}

/* Fail the op if the pass over `points` did not finish; return whether it did. */
static int finished(Call *call, const Points *points, PassResult result) {
    switch (result.outcome) {
    case PASS_DONE:
        return 1;
    case PASS_BAD_LABEL:
        return fail(call, TF_INVALID_ARGUMENT,
                    "labels[%" PRId64 "] = %" PRId64 " is outside [%" PRId64 ", %" PRId64 ")", result.row, result.label,
                    result.lowest, points->n_clusters);
    case PASS_BAD_WEIGHT:
        return fail(call, TF_INVALID_ARGUMENT, "weights[%" PRId64 "] = %g should be finite and >= 0", result.row,
                    result.weight);
    default:
        return fail(call, TF_RESOURCE_EXHAUSTED, "out of memory");
    }
}

/* KmeansTf>NearestCentroidSums (and, where `sparse` is not NULL, its sparse twin: so for
 * every compute function below). */
static void compute_sums(void *sparse, TF_OpKernelContext *context) {
    Call call;
    Points points;
    PassOutput out;
    if (start(&call, context, sparse, SUMS_N_INPUTS) &&
        read_points(&call, SUMS_SAMPLES, SUMS_CENTROIDS, SUMS_WEIGHTS, &points) &&
        read_exponents(&call, SUMS_EXPONENTS, &points) && allocate_pass_outputs(&call, &points, SUMS_LABELS_OUT, SUMS_SUMS_OUT, 0, &out))
        finished(&call, &points, nearest_centroid_pass(&points, NULL, NULL, &out));
    finish(&call);
}

/* Begin an op whose inputs are samples, centroids, weights and labels (one per sample): the
 * labels' values are checked later, as the op's loop reads them. */
static int start_labelled(Call *call, TF_OpKernelContext *context, const void *sparse, int n_inputs, int samples,
                          int centroids, int weights, int labels, Points *points) {
    return start(call, context, sparse, n_inputs) && read_points(call, samples, centroids, weights, points) &&
           check_per_sample(call, labels, "labels", points->n_samples);
}

/* KmeansTf>NearestCentroidChanges: labels in [-1, n_clusters), checked as the pass reads them. */
static void compute_changes(void *sparse, TF_OpKernelContext *context) {
    Call call;
    Points points;
    PassOutput out;
    int64_t *changed;
    if (start_labelled(&call, context, sparse, CHANGES_N_INPUTS, CHANGES_SAMPLES, CHANGES_CENTROIDS, CHANGES_WEIGHTS,
                       CHANGES_LABELS, &points) &&
        read_exponents(&call, CHANGES_EXPONENTS, &points) && allocate_pass_outputs(&call, &points, CHANGES_LABELS_OUT, CHANGES_SUMS_OUT, 1, &out) &&
        (changed = output(&call, CHANGES_CHANGED_OUT, TF_INT64, NULL, 0)) &&
        finished(&call, &points, nearest_centroid_pass(&points, TF_TensorData(call.in[CHANGES_LABELS]), NULL, &out)))
        *changed = out.changed;
    finish(&call);
}

/* Check the bounded pass's other inputs (previous centroids of the centroids' shape; labels,
 * bounds and norms of one entry per sample; a scalar norm bound) and describe them in `bounds`. */
static int read_bounds(Call *call, const Points *points, Bounds *bounds) {
    const TF_Tensor *previous = call->in[BOUNDED_PREVIOUS_CENTROIDS], *norm_bound = call->in[BOUNDED_NORM_BOUND];
    char shape[64];
    if (TF_NumDims(previous) != 2 || TF_Dim(previous, 0) != points->n_clusters ||
        TF_Dim(previous, 1) != points->n_features)
        return fail(call, TF_INVALID_ARGUMENT,
                    "previous_centroids must have the centroids' shape [%" PRId64 ", %" PRId64 "], not %s",
                    points->n_clusters, points->n_features,
                    shape_of(call, BOUNDED_PREVIOUS_CENTROIDS, shape, sizeof shape));
    if (TF_NumDims(norm_bound) != 0)
        return fail(call, TF_INVALID_ARGUMENT, "norm_bound must be a scalar, not of shape %s",
                    shape_of(call, BOUNDED_NORM_BOUND, shape, sizeof shape));
    if (!check_per_sample(call, BOUNDED_LABELS, "labels", points->n_samples) ||
        !check_per_sample(call, BOUNDED_UPPER, "upper", points->n_samples) ||
        !check_per_sample(call, BOUNDED_LOWER, "lower", points->n_samples) ||
        !check_per_sample(call, BOUNDED_NORMS, "norms", points->n_samples))
        return 0;
    *bounds = (Bounds){
        .previous_centroids = TF_TensorData(previous),
        .upper = TF_TensorData(call->in[BOUNDED_UPPER]),
        .lower = TF_TensorData(call->in[BOUNDED_LOWER]),
        .norms = TF_TensorData(call->in[BOUNDED_NORMS]),
        .norm_bound = *(const double *)TF_TensorData(norm_bound),
    };
    return 1;
}

/* KmeansTf>NearestCentroidChangesBounded: labels in [0, n_clusters), or -1 where upper is
 * not finite (a sample to measure), checked as the pass reads them. */
static void compute_bounded(void *sparse, TF_OpKernelContext *context) {
    Call call;
    Points points;
    Bounds bounds;
    PassOutput out;
    int64_t *changed, *skipped;
    const int64_t *rows = &points.n_samples;
    if (start(&call, context, sparse, BOUNDED_N_INPUTS) &&
        read_points(&call, BOUNDED_SAMPLES, BOUNDED_CENTROIDS, BOUNDED_WEIGHTS, &points) &&
        read_bounds(&call, &points, &bounds) && read_exponents(&call, BOUNDED_EXPONENTS, &points) &&
        (bounds.new_upper = output(&call, BOUNDED_UPPER_OUT, TF_DOUBLE, rows, 1)) &&
        (bounds.new_lower = output(&call, BOUNDED_LOWER_OUT, TF_DOUBLE, rows, 1)) &&
        allocate_pass_outputs(&call, &points, BOUNDED_LABELS_OUT, BOUNDED_SUMS_OUT, 1, &out) &&
        (changed = output(&call, BOUNDED_CHANGED_OUT, TF_INT64, NULL, 0)) &&
        (skipped = output(&call, BOUNDED_SKIPPED_OUT, TF_INT64, NULL, 0)) &&
        finished(&call, &points, nearest_centroid_pass(&points, TF_TensorData(call.in[BOUNDED_LABELS]), &bounds, &out))) {
        *changed = out.changed;
        *skipped = out.skipped;
    }
    finish(&call);
}

/* KmeansTf>SumSquaredDistances: labels in [0, n_clusters), checked as the sum reads them. */
static void compute_inertia(void *sparse, TF_OpKernelContext *context) {
    Call call;
    Points points;
    double *total;
    if (start_labelled(&call, context, sparse, INERTIA_N_INPUTS, INERTIA_SAMPLES, INERTIA_CENTROIDS, INERTIA_WEIGHTS,
                       INERTIA_LABELS, &points) &&
        (total = output(&call, INERTIA_TOTAL_OUT, TF_DOUBLE, NULL, 0)))
        finished(&call, &points, sum_squared_distances(&points, TF_TensorData(call.in[INERTIA_LABELS]), total));
    finish(&call);
}

/* KmeansTf>ClusterSums: labels in [0, n_clusters), checked as the sums read them; the
 * centroids give the clusters' number and columns (their values are not read). */
static void compute_cluster_sums(void *sparse, TF_OpKernelContext *context) {
    Call call;
    Points points;
    double *values;
    if (start_labelled(&call, context, sparse, CLUSTER_N_INPUTS, CLUSTER_SAMPLES, CLUSTER_CENTROIDS, CLUSTER_WEIGHTS,
                       CLUSTER_LABELS, &points) &&
        read_exponents(&call, CLUSTER_EXPONENTS, &points)) {
        const int64_t shape[2] = {points.n_clusters, points.n_features};
        if ((values = output(&call, CLUSTER_SUMS_OUT, TF_DOUBLE, shape, 2)))
            finished(&call, &points,
                     cluster_sums(&points, TF_TensorData(call.in[CLUSTER_LABELS]), (ClusterOutput){.values = values}));
    }
    finish(&call);
}

/* KmeansTf>ClusterMeans: as ClusterSums, and the divisors a float64 vector of one entry per
 * centroid (any value: a divisor of 0 gives what float64 division gives). */
static void compute_cluster_means(void *sparse, TF_OpKernelContext *context) {
    Call call;
    Points points;
    void *means;
    char shape[64];
    if (start_labelled(&call, context, sparse, MEANS_N_INPUTS, MEANS_SAMPLES, MEANS_CENTROIDS, MEANS_WEIGHTS,
                       MEANS_LABELS, &points) &&
        read_exponents(&call, MEANS_EXPONENTS, &points)) {
        const TF_Tensor *divisors = call.in[MEANS_DIVISORS];
        const int64_t means_shape[2] = {points.n_clusters, points.n_features};
        if (TF_NumDims(divisors) != 1 || TF_Dim(divisors, 0) != points.n_clusters)
            fail(&call, TF_INVALID_ARGUMENT, "divisors must have one entry per centroid, shape [%" PRId64 "], not %s",
                 points.n_clusters, shape_of(&call, MEANS_DIVISORS, shape, sizeof shape));
        else if ((means = output(&call, MEANS_OUT, points.is_float ? TF_FLOAT : TF_DOUBLE, means_shape, 2)))
            finished(&call, &points,
                     cluster_sums(&points, TF_TensorData(call.in[MEANS_LABELS]),
                                  (ClusterOutput){.means = means, .divisors = TF_TensorData(divisors)}));
    }
    finish(&call);
}

/* KmeansTf>ExactAdd's inputs and outputs (below). */
enum { ADD_SUMS, ADD_CHANGES, ADD_EXPONENTS, ADD_N_INPUTS };
enum { ADD_TOTAL_OUT, ADD_VALUES_OUT, ADD_N_OUTPUTS };

/* Output `index`, float64 of `rank` dims of `shape`, in the buffer of input ADD_SUMS or ADD_CHANGES where TensorFlow
 * lets it be reused (it holds no other reference), else new; return its data or NULL. The call's own handles on those
 * inputs are references too: they are let go first (the op's context keeps the inputs alive until it returns). */
static double *forwarded(Call *call, int index, const int64_t *shape, int rank) {
    static const int candidates[2] = {ADD_SUMS, ADD_CHANGES};
    int reused;
    for (int i = 0; i < 2; ++i) {
        TF_DeleteTensor(call->in[candidates[i]]);
        call->in[candidates[i]] = NULL;
    }
    call->out[index] = TF_ForwardInputOrAllocateOutput(call->context, candidates, 2, index, shape, rank, &reused,
                                                      call->status);
    return ok(call) ? TF_TensorData(call->out[index]) : NULL;
}

/* KmeansTf>ExactAdd: two exact sums' limbs (float64 [n, m, LIMBS], of one shape) added and
 * normalized, and their values: the units over 2**exponent, per column m (`exponents`,
 * float64 [m], whole numbers in [-2000, 2000]). The same numbers, by the same arithmetic, as
 * kmeans_tf/engine/exact.py's tf_normalized and tf_value (add_limbs, limbs.h), written into an
 * input's buffer where TensorFlow allows. */
static void compute_exact_add(void *kernel, TF_OpKernelContext *context) {
    (void)kernel;
    Call call;
    char shape[2][64];
    double *total, *values;
    if (!start(&call, context, NULL, ADD_N_INPUTS)) {
        finish(&call);
        return;
    }
    const TF_Tensor *sums = call.in[ADD_SUMS], *changes = call.in[ADD_CHANGES], *exponents = call.in[ADD_EXPONENTS];
    int same = TF_NumDims(sums) == 3 && TF_NumDims(changes) == 3 && TF_Dim(sums, 2) == LIMBS;
    for (int d = 0; same && d < 3; ++d) same = TF_Dim(sums, d) == TF_Dim(changes, d);
    if (!same) {
        fail(&call, TF_INVALID_ARGUMENT, "sums and changes must be of one shape [n, m, %d], not %s and %s", LIMBS,
             shape_of(&call, ADD_SUMS, shape[0], sizeof shape[0]), shape_of(&call, ADD_CHANGES, shape[1], sizeof shape[1]));
    } else if (TF_NumDims(exponents) != 1 || TF_Dim(exponents, 0) != TF_Dim(sums, 1)) {
        fail(&call, TF_INVALID_ARGUMENT, "exponents must have one entry per column, shape [%" PRId64 "], not %s",
             TF_Dim(sums, 1), shape_of(&call, ADD_EXPONENTS, shape[0], sizeof shape[0]));
    } else {
        const int64_t n = TF_Dim(sums, 0), m = TF_Dim(sums, 1), dims[3] = {n, m, LIMBS};
        Points columns = {.n_features = m - 1};
        const double *a = TF_TensorData(sums), *b = TF_TensorData(changes);
        if (read_exponents(&call, ADD_EXPONENTS, &columns) && (total = forwarded(&call, ADD_TOTAL_OUT, dims, 3)) &&
            (values = output(&call, ADD_VALUES_OUT, TF_DOUBLE, dims, 2)))
            add_limbs(a, b, columns.factors, columns.factors + m, n * m, m, total, values);
    }
    finish(&call);
}

static void infer_exact_add(TF_ShapeInferenceContext *context, TF_Status *status) {
    TF_ShapeHandle *sums = TF_NewShapeHandle(), *values = TF_NewShapeHandle();
    TF_ShapeInferenceContextGetInput(context, ADD_SUMS, sums, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(context, sums, 3, sums, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, ADD_TOTAL_OUT, sums, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSubshape(context, sums, 0, 2, values, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, ADD_VALUES_OUT, values, status);
    TF_DeleteShapeHandle(sums);
    TF_DeleteShapeHandle(values);
}

/* KmeansTf>AlignedCopy: the input's bytes, copied into a new output of its shape and type. */
static void compute_aligned_copy(void *kernel, TF_OpKernelContext *context) {
    (void)kernel;
    Call call;
    if (start(&call, context, NULL, 1)) {
        const TF_Tensor *input = call.in[0];
        int64_t dims[MAX_COPY_DIMS];
        const int rank = TF_NumDims(input);
        if (rank > MAX_COPY_DIMS) {
            fail(&call, TF_INVALID_ARGUMENT, "AlignedCopy copies tensors of at most %d dims, not %d", MAX_COPY_DIMS,
                 rank);
        } else {
            for (int d = 0; d < rank; ++d) dims[d] = TF_Dim(input, d);
            void *copy = output(&call, 0, TF_TensorType(input), dims, rank);
            if (copy && TF_TensorByteSize(input)) memcpy(copy, TF_TensorData(input), TF_TensorByteSize(input));
        }
    }
    finish(&call);
}

static void infer_aligned_copy(TF_ShapeInferenceContext *context, TF_Status *status) {
    TF_ShapeHandle *shape = TF_NewShapeHandle();
    TF_ShapeInferenceContextGetInput(context, 0, shape, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, 0, shape, status);
    TF_DeleteShapeHandle(shape);
}

/* Shape functions. A pass's outputs: labels (and bounds) (n_samples,), sums like the
 * centroids, counts and members (n_clusters,), and changed (and skipped) a scalar. */
typedef struct {
    int n_inputs;        /* the dense op's: a sparse op has SPARSE_PARTS - 1 more */
    int rows[3], n_rows; /* the outputs of one entry per sample */
    int sums, counts, members;
    int changed, skipped; /* -1: none */
} PassShapes;

static void infer_pass(TF_ShapeInferenceContext *context, TF_Status *status, const PassShapes *outputs) {
    /* Every op: samples, centroids first; a sparse op's n_samples is row_starts' length less 1. */
    const int sparse = TF_ShapeInferenceContextNumInputs(context) > outputs->n_inputs;
    TF_ShapeHandle *samples = TF_NewShapeHandle(), *centroids = TF_NewShapeHandle();
    TF_ShapeHandle *rows = sparse ? TF_ShapeInferenceContextVectorFromSize(context, -1) : TF_NewShapeHandle();
    TF_ShapeHandle *clusters = TF_NewShapeHandle();
    TF_ShapeHandle *scalar = TF_ShapeInferenceContextScalar(context);
    TF_ShapeHandle *limbs = TF_ShapeInferenceContextVectorFromSize(context, LIMBS);
    TF_ShapeHandle *grid = TF_NewShapeHandle(), *cluster_limbs = TF_NewShapeHandle();
    TF_ShapeInferenceContextGetInput(context, sparse ? SPARSE_PARTS : 1, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(context, centroids, 2, centroids, status);
    if (TF_GetCode(status) == TF_OK && !sparse) TF_ShapeInferenceContextGetInput(context, 0, samples, status);
    if (TF_GetCode(status) == TF_OK && !sparse) TF_ShapeInferenceContextWithRank(context, samples, 2, samples, status);
    if (TF_GetCode(status) == TF_OK && !sparse) TF_ShapeInferenceContextSubshape(context, samples, 0, 1, rows, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSubshape(context, centroids, 0, 1, clusters, status);
    for (int i = 0; i < outputs->n_rows && TF_GetCode(status) == TF_OK; ++i)
        TF_ShapeInferenceContextSetOutput(context, outputs->rows[i], rows, status);
    if (TF_GetCode(status) == TF_OK && sparse && outputs->changed >= 0) { /* no sums: [n_clusters, 0, LIMBS] */
        TF_ShapeHandle *none = TF_ShapeInferenceContextVectorFromSize(context, 0), *empty = TF_NewShapeHandle();
        TF_ShapeInferenceContextConcatenateShapes(context, clusters, none, empty, status);
        if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextConcatenateShapes(context, empty, limbs, grid, status);
        TF_DeleteShapeHandle(none);
        TF_DeleteShapeHandle(empty);
    } else if (TF_GetCode(status) == TF_OK) {
        TF_ShapeInferenceContextConcatenateShapes(context, centroids, limbs, grid, status);
    }
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, outputs->sums, grid, status);
    if (TF_GetCode(status) == TF_OK)
        TF_ShapeInferenceContextConcatenateShapes(context, clusters, limbs, cluster_limbs, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, outputs->counts, cluster_limbs, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, outputs->members, clusters, status);
    if (TF_GetCode(status) == TF_OK && outputs->changed >= 0)
        TF_ShapeInferenceContextSetOutput(context, outputs->changed, scalar, status);
    if (TF_GetCode(status) == TF_OK && outputs->skipped >= 0)
        TF_ShapeInferenceContextSetOutput(context, outputs->skipped, scalar, status);
    TF_DeleteShapeHandle(samples);
    TF_DeleteShapeHandle(centroids);
    TF_DeleteShapeHandle(rows);
    TF_DeleteShapeHandle(clusters);
    TF_DeleteShapeHandle(scalar);
    TF_DeleteShapeHandle(limbs);
    TF_DeleteShapeHandle(grid);
    TF_DeleteShapeHandle(cluster_limbs);
}

static void infer_sums(TF_ShapeInferenceContext *context, TF_Status *status) {
    static const PassShapes outputs = {SUMS_N_INPUTS,   {SUMS_LABELS_OUT}, 1, SUMS_SUMS_OUT, SUMS_COUNTS_OUT,
                                       SUMS_MEMBERS_OUT, -1, -1};
    infer_pass(context, status, &outputs);
}

static void infer_changes(TF_ShapeInferenceContext *context, TF_Status *status) {
    static const PassShapes outputs = {CHANGES_N_INPUTS,    {CHANGES_LABELS_OUT}, 1, CHANGES_SUMS_OUT, CHANGES_COUNTS_OUT,
                                       CHANGES_MEMBERS_OUT, CHANGES_CHANGED_OUT, -1};
    infer_pass(context, status, &outputs);
}

static void infer_bounded(TF_ShapeInferenceContext *context, TF_Status *status) {
    static const PassShapes outputs = {BOUNDED_N_INPUTS, {BOUNDED_LABELS_OUT, BOUNDED_UPPER_OUT, BOUNDED_LOWER_OUT}, 3,
                                       BOUNDED_SUMS_OUT, BOUNDED_COUNTS_OUT, BOUNDED_MEMBERS_OUT, BOUNDED_CHANGED_OUT,
                                       BOUNDED_SKIPPED_OUT};
    infer_pass(context, status, &outputs);
}

/* ClusterSums and ClusterMeans: an output shaped like the centroids (the second input, after the samples' parts). */
static void infer_cluster_sums(TF_ShapeInferenceContext *context, TF_Status *status) {
    const int n_inputs = TF_ShapeInferenceContextNumInputs(context);
    const int sparse = n_inputs == CLUSTER_N_INPUTS + SPARSE_PARTS - 1 || n_inputs == MEANS_N_INPUTS + SPARSE_PARTS - 1;
    TF_ShapeHandle *centroids = TF_NewShapeHandle();
    TF_ShapeInferenceContextGetInput(context, sparse ? SPARSE_PARTS : 1, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(context, centroids, 2, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, CLUSTER_SUMS_OUT, centroids, status);
    TF_DeleteShapeHandle(centroids);
}

static void infer_scalar(TF_ShapeInferenceContext *context, TF_Status *status) {
    TF_ShapeHandle *scalar = TF_ShapeInferenceContextScalar(context);
    TF_ShapeInferenceContextSetOutput(context, 0, scalar, status);
    TF_DeleteShapeHandle(scalar);
}

/* An op: its name, its inputs and outputs (T is float or double), its shape function and
 * its kernel. The lists are indexed by the op's enums above; they end at the first NULL. */
typedef struct {
    const char *name, *inputs[MAX_INPUTS + 1], *outputs[MAX_OUTPUTS + 1];
    void (*infer)(TF_ShapeInferenceContext *, TF_Status *);
    void (*compute)(void *, TF_OpKernelContext *);
} OpSpec;

static const OpSpec OPS[] = {
    {"KmeansTf>NearestCentroidSums",
     {[SUMS_SAMPLES] = "samples: T", [SUMS_CENTROIDS] = "centroids: T", [SUMS_EXPONENTS] = "exponents: double",
      [SUMS_WEIGHTS] = "weights: double"},
     {[SUMS_LABELS_OUT] = "labels: int64", [SUMS_SUMS_OUT] = "sums: double", [SUMS_COUNTS_OUT] = "counts: double",
      [SUMS_MEMBERS_OUT] = "members: double"},
     infer_sums, compute_sums},
    {"KmeansTf>NearestCentroidChanges",
     {[CHANGES_SAMPLES] = "samples: T", [CHANGES_CENTROIDS] = "centroids: T", [CHANGES_LABELS] = "labels: int64",
      [CHANGES_EXPONENTS] = "exponents: double", [CHANGES_WEIGHTS] = "weights: double"},
     {[CHANGES_LABELS_OUT] = "new_labels: int64", [CHANGES_SUMS_OUT] = "sum_changes: double",
      [CHANGES_COUNTS_OUT] = "count_changes: double", [CHANGES_MEMBERS_OUT] = "member_changes: double",
      [CHANGES_CHANGED_OUT] = "changed: int64"},
     infer_changes, compute_changes},
    {"KmeansTf>NearestCentroidChangesBounded",
     {[BOUNDED_SAMPLES] = "samples: T", [BOUNDED_CENTROIDS] = "centroids: T",
      [BOUNDED_PREVIOUS_CENTROIDS] = "previous_centroids: T", [BOUNDED_LABELS] = "labels: int64",
      [BOUNDED_UPPER] = "upper: double", [BOUNDED_LOWER] = "lower: double", [BOUNDED_NORMS] = "norms: double",
      [BOUNDED_NORM_BOUND] = "norm_bound: double", [BOUNDED_EXPONENTS] = "exponents: double",
      [BOUNDED_WEIGHTS] = "weights: double"},
     {[BOUNDED_LABELS_OUT] = "new_labels: int64", [BOUNDED_UPPER_OUT] = "new_upper: double",
      [BOUNDED_LOWER_OUT] = "new_lower: double", [BOUNDED_SUMS_OUT] = "sum_changes: double",
      [BOUNDED_COUNTS_OUT] = "count_changes: double", [BOUNDED_MEMBERS_OUT] = "member_changes: double",
      [BOUNDED_CHANGED_OUT] = "changed: int64", [BOUNDED_SKIPPED_OUT] = "skipped: int64"},
     infer_bounded, compute_bounded},
    {"KmeansTf>SumSquaredDistances",
     {[INERTIA_SAMPLES] = "samples: T", [INERTIA_CENTROIDS] = "centroids: T", [INERTIA_LABELS] = "labels: int64",
      [INERTIA_WEIGHTS] = "weights: double"},
     {[INERTIA_TOTAL_OUT] = "total: double"},
     infer_scalar, compute_inertia},
    {"KmeansTf>ClusterSums",
     {[CLUSTER_SAMPLES] = "samples: T", [CLUSTER_CENTROIDS] = "centroids: T", [CLUSTER_LABELS] = "labels: int64",
      [CLUSTER_EXPONENTS] = "exponents: double", [CLUSTER_WEIGHTS] = "weights: double"},
     {[CLUSTER_SUMS_OUT] = "sums: double"},
     infer_cluster_sums, compute_cluster_sums},
    {"KmeansTf>ClusterMeans",
     {[MEANS_SAMPLES] = "samples: T", [MEANS_CENTROIDS] = "centroids: T", [MEANS_LABELS] = "labels: int64",
      [MEANS_EXPONENTS] = "exponents: double", [MEANS_DIVISORS] = "divisors: double",
      [MEANS_WEIGHTS] = "weights: double"},
     {[MEANS_OUT] = "means: T"},
     infer_cluster_sums, compute_cluster_means},
};

/* A sparse op's samples, in place of the dense op's first input. */
static const char *const SPARSE_INPUTS[SPARSE_PARTS] = {
    [SPARSE_ROW_STARTS] = "row_starts: int64", [SPARSE_COLUMNS] = "columns: int32", [SPARSE_VALUES] = "values: T",
    [SPARSE_N_COLUMNS] = "n_columns: int64"};

/* The kernel's data of a sparse op (see start): any pointer but NULL. */
static void *sparse_kernel(TF_OpKernelConstruction *construction) {
    (void)construction;
    return (void *)SPARSE_INPUTS;
}

/* Register one op (or with `sparse`, its sparse twin: "KmeansTf>Name" becomes
 * "KmeansTf>SparseName") and its float and double CPU kernels. */
static void register_op(const OpSpec *spec, int sparse, TF_Status *status) {
    static const TF_DataType types[2] = {TF_FLOAT, TF_DOUBLE};
    static const char prefix[] = "KmeansTf>";
    char name[128];
    snprintf(name, sizeof name, "%s%s%s", prefix, sparse ? "Sparse" : "", spec->name + strlen(prefix));
    TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(name);
    TF_OpDefinitionBuilderAddAttr(op, "T: {float, double}");
    for (int i = 0; sparse && i < SPARSE_PARTS; ++i) TF_OpDefinitionBuilderAddInput(op, SPARSE_INPUTS[i]);
    for (int i = sparse ? 1 : 0; spec->inputs[i]; ++i) TF_OpDefinitionBuilderAddInput(op, spec->inputs[i]);
    for (int i = 0; spec->outputs[i]; ++i) TF_OpDefinitionBuilderAddOutput(op, spec->outputs[i]);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, spec->infer);
    TF_RegisterOpDefinition(op, status);
    for (int t = 0; t < 2 && TF_GetCode(status) == TF_OK; ++t) {
        TF_KernelBuilder *builder =
            TF_NewKernelBuilder(name, "CPU", sparse ? sparse_kernel : NULL, spec->compute, NULL);
        TF_KernelBuilder_TypeConstraint(builder, "T", types[t], status);
        if (TF_GetCode(status) == TF_OK) TF_RegisterKernelBuilder(name, builder, status);
    }
}

/* Register KmeansTf>ExactAdd and its CPU kernel (no sparse twin, no type attribute: float64 alone). */
static void register_exact_add(TF_Status *status) {
    static const char name[] = "KmeansTf>ExactAdd";
    TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(name);
    TF_OpDefinitionBuilderAddInput(op, "sums: double");
    TF_OpDefinitionBuilderAddInput(op, "changes: double");
    TF_OpDefinitionBuilderAddInput(op, "exponents: double");
    TF_OpDefinitionBuilderAddOutput(op, "total: double");
    TF_OpDefinitionBuilderAddOutput(op, "values: double");
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, infer_exact_add);
    TF_RegisterOpDefinition(op, status);
    if (TF_GetCode(status) == TF_OK)
        TF_RegisterKernelBuilder(name, TF_NewKernelBuilder(name, "CPU", NULL, compute_exact_add, NULL), status);
}

/* Register KmeansTf>AlignedCopy and its CPU kernels (no sparse twin; of the types the CSR arrays' tensors have). */
static void register_aligned_copy(TF_Status *status) {
    static const char name[] = "KmeansTf>AlignedCopy";
    static const TF_DataType types[3] = {TF_INT32, TF_FLOAT, TF_DOUBLE};
    TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(name);
    TF_OpDefinitionBuilderAddAttr(op, "T: {int32, float, double}");
    TF_OpDefinitionBuilderAddInput(op, "input: T");
    TF_OpDefinitionBuilderAddOutput(op, "output: T");
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, infer_aligned_copy);
    TF_RegisterOpDefinition(op, status);
    for (int t = 0; t < 3 && TF_GetCode(status) == TF_OK; ++t) {
        TF_KernelBuilder *builder = TF_NewKernelBuilder(name, "CPU", NULL, compute_aligned_copy, NULL);
        TF_KernelBuilder_TypeConstraint(builder, "T", types[t], status);
        if (TF_GetCode(status) == TF_OK) TF_RegisterKernelBuilder(name, builder, status);
    }
}

/* Registers the ops, dense and sparse, and their CPU kernels when TensorFlow loads this library. */
__attribute__((constructor)) static void register_ops(void) {
    TF_Status *status = TF_NewStatus();
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0] && TF_GetCode(status) == TF_OK; ++i)
        for (int sparse = 0; sparse < 2 && TF_GetCode(status) == TF_OK; ++sparse) register_op(&OPS[i], sparse, status);
    if (TF_GetCode(status) == TF_OK) register_exact_add(status);
    if (TF_GetCode(status) == TF_OK) register_aligned_copy(status);
    TF_DeleteStatus(status);
}
