/* One Lloyd pass on the CPU, fused: every sample's nearest centroid, and the float64
 * per-cluster sums and counts of the samples, in a single sweep over the data. Four ops:
 * NearestCentroidSums measures every sample and sums them all; NearestCentroidChanges
 * measures every sample and sums only those whose label changed since the labels given
 * (+ in the new cluster, - in the old), which update the k-means loop's running sums;
 * NearestCentroidChangesBounded does the same but keeps Hamerly's distance bounds per
 * sample and measures only those whose label may change, with the same arithmetic, so
 * both give the same labels and bit-identical changes. SumSquaredDistances gives the
 * inertia of given labels, exactly, in float64.
 *
 * TensorFlow's own ops need three sweeps for this (matmul, argmin, segment sums) and write
 * a (rows, n_clusters) block to memory between them; here that block never leaves the
 * registers. The distance is scikit-learn's expansion: argmin over c of ||c||^2/2 - x.c.
 *
 * Plain C against TensorFlow's C kernel API (tensorflow/c/kernels.h), so that gcc alone
 * builds it. Built by `python -m compat.build_kernels`; loaded by compat/_native.py. */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ops.h names these structs without `struct`, which only C++ accepts. */
typedef struct TF_DimensionHandle TF_DimensionHandle;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
#include "tensorflow/c/kernels.h"
#include "tensorflow/c/ops.h"

/* Rows go in blocks (at least MIN_ROWS_PER_BLOCK rows, at most MAX_BLOCKS blocks, and block
 * sums within BLOCK_SUMS_BUDGET bytes unless every thread needs a block); threads take the
 * next block as they finish one, so a slow core holds the others up less. Each block sums
 * its own rows, and the blocks are added in order: the same answer however they ran. */
enum { MIN_ROWS_PER_BLOCK = 2048, MAX_BLOCKS = 32, MAX_THREADS = 64 };
#define BLOCK_SUMS_BUDGET (64.0 * 1024 * 1024)

static int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

/* fmax without the library call (and without its care for NaN, which cannot occur here). */
static inline double larger(double a, double b) { return a > b ? a : b; }

/* One call's work, split into n_blocks blocks of rows; each block has its own sums. The
 * changes passes also read the previous labels (old_labels is NULL otherwise), and the
 * bounded one the previous bounds. */
typedef struct Job {
    const void *samples, *centroids, *panels;
    int64_t n_samples, n_clusters, n_features, n_blocks;
    int64_t *labels;
    double *block_sums, *block_counts;
    void (*run_block)(const struct Job *job, int64_t block);
    /* With old_labels, the sums are of changes (rows whose label changed); each block
     * counts its changed rows in block_changed. */
    const int64_t *old_labels;
    int64_t *block_changed;
    /* The bounded pass only. */
    int bounded;
    const double *old_upper, *old_lower;
    double *upper, *lower;
    const double *moves, *half_gaps;
    const double *norms; /* each sample's squared norm */
    double max_move, second_move, slack, norm_bound;
    int64_t farthest_mover;
} Job;

/* The typed kernels, once for float and once for double. */
typedef float VecFloat __attribute__((vector_size(32)));
typedef int32_t MaskFloat __attribute__((vector_size(32)));
typedef double VecDouble __attribute__((vector_size(32)));
typedef int64_t MaskDouble __attribute__((vector_size(32)));

#define REAL float
#define VEC VecFloat
#define MASK MaskFloat
#define SWAP_HALVES {{4, 5, 6, 7, 0, 1, 2, 3}, {2, 3, 0, 1, 6, 7, 4, 5}, {1, 0, 3, 2, 5, 4, 7, 6}}
#define TYPED(name) name##_float
#include "nearest_centroid_body.h"
#undef REAL
#undef VEC
#undef MASK
#undef SWAP_HALVES
#undef TYPED

#define REAL double
#define VEC VecDouble
#define MASK MaskDouble
#define SWAP_HALVES {{2, 3, 0, 1}, {1, 0, 3, 2}}
#define TYPED(name) name##_double
#include "nearest_centroid_body.h"
#undef REAL
#undef VEC
#undef MASK
#undef SWAP_HALVES
#undef TYPED

typedef struct {
    const Job *job;
    int64_t next_block; /* taken with an atomic add */
} Queue;

static void *take_blocks(void *argument) {
    Queue *queue = argument;
    for (;;) {
        const int64_t block = __atomic_fetch_add(&queue->next_block, 1, __ATOMIC_RELAXED);
        if (block >= queue->job->n_blocks) return NULL;
        queue->job->run_block(queue->job, block);
    }
}

static int64_t usable_cpus(void) {
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
    return CPU_COUNT(&cpus);
}

/* Run every block on up to one thread per usable CPU, the calling thread among them. */
static void run_blocks(const Job *job) {
    pthread_t threads[MAX_THREADS];
    Queue queue = {job, 0};
    int64_t n_threads = usable_cpus();
    if (n_threads > job->n_blocks) n_threads = job->n_blocks;
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    int64_t started = 1;
    while (started < n_threads && pthread_create(&threads[started], NULL, take_blocks, &queue) == 0) ++started;
    take_blocks(&queue);
    for (int64_t t = 1; t < started; ++t) pthread_join(threads[t], NULL);
}

/* How many blocks of rows, each with `block_bytes` of sums: see MIN_ROWS_PER_BLOCK. */
static int64_t count_blocks(int64_t n_samples, double block_bytes) {
    int64_t blocks = n_samples / MIN_ROWS_PER_BLOCK;
    if (blocks > MAX_BLOCKS) blocks = MAX_BLOCKS;
    int64_t affordable = (int64_t)(BLOCK_SUMS_BUDGET / block_bytes), cpus = usable_cpus();
    if (affordable < cpus) affordable = cpus;
    if (blocks > affordable) blocks = affordable;
    return blocks < 1 ? 1 : blocks;
}

/* How far each centroid moved, in float64; the largest and second largest move. */
static void centroid_moves(const void *centroids, const void *previous, int is_float, Job *job, double *moves) {
    job->max_move = job->second_move = 0;
    job->farthest_mover = -1;
    for (int64_t c = 0; c < job->n_clusters; ++c) {
        double total = 0;
        for (int64_t f = 0; f < job->n_features; ++f) {
            const int64_t i = c * job->n_features + f;
            const double gap = is_float ? (double)((const float *)centroids)[i] - ((const float *)previous)[i]
                                        : ((const double *)centroids)[i] - ((const double *)previous)[i];
            total += gap * gap;
        }
        moves[c] = sqrt(total);
        if (moves[c] > job->max_move) {
            job->second_move = job->max_move;
            job->max_move = moves[c];
            job->farthest_mover = c;
        } else if (moves[c] > job->second_move) {
            job->second_move = moves[c];
        }
    }
}

/* Half the distance from each centroid to the nearest other one (+inf for a lone centroid). */
static void half_gaps(const void *centroids, int is_float, int64_t n_clusters, int64_t n_features, double *gaps) {
    for (int64_t c = 0; c < n_clusters; ++c) gaps[c] = INFINITY;
    for (int64_t a = 0; a < n_clusters; ++a) {
        for (int64_t b = a + 1; b < n_clusters; ++b) {
            double total = 0;
            for (int64_t f = 0; f < n_features; ++f) {
                const double gap = is_float ? (double)((const float *)centroids)[a * n_features + f] -
                                                  ((const float *)centroids)[b * n_features + f]
                                            : ((const double *)centroids)[a * n_features + f] -
                                                  ((const double *)centroids)[b * n_features + f];
                total += gap * gap;
            }
            const double half = sqrt(total) / 2;
            if (half < gaps[a]) gaps[a] = half;
            if (half < gaps[b]) gaps[b] = half;
        }
    }
}

static int ok(TF_OpKernelContext *context, TF_Status *status) {
    if (TF_GetCode(status) == TF_OK) return 1;
    TF_OpKernelContext_Failure(context, status);
    return 0;
}

static int fail(TF_OpKernelContext *context, TF_Status *status, TF_Code code, const char *message) {
    TF_SetStatus(status, code, message);
    TF_OpKernelContext_Failure(context, status);
    return 0;
}

static TF_Tensor *output(TF_OpKernelContext *context, int index, TF_DataType type, const int64_t *shape, int rank,
                         size_t item_size, TF_Status *status) {
    int64_t count = 1;
    for (int i = 0; i < rank; ++i) count *= shape[i];
    return TF_AllocateOutput(context, index, type, shape, rank, count * item_size, status);
}

enum { MAX_INPUTS = 8, MAX_OUTPUTS = 6 };

/* What a pass op gives: fresh sums (NearestCentroidSums), the sums of the changes since the
 * given labels (NearestCentroidChanges), or those with distance bounds (...ChangesBounded). */
typedef enum { SUMS, CHANGES, BOUNDED } Pass;

/* The three passes (kernel is a Pass): inputs samples, centroids, and
 * - CHANGES: labels;
 * - BOUNDED: previous centroids, labels, upper, lower, norms, norm_bound.
 * Outputs labels, (BOUNDED: upper, lower,) sums, counts, and (CHANGES and BOUNDED: changed). */
static void compute(void *kernel, TF_OpKernelContext *context) {
    const Pass pass = *(const Pass *)kernel;
    const int bounded = pass == BOUNDED, changes = pass != SUMS;
    const int n_inputs = bounded ? 8 : changes ? 3 : 2;
    TF_Status *status = TF_NewStatus();
    TF_Tensor *in[MAX_INPUTS] = {0}, *out[MAX_OUTPUTS] = {0};
    double *block_sums = NULL, *block_counts = NULL, *moves = NULL, *gaps = NULL;
    int64_t *block_changed = NULL;
    Panels_float panels_float = {0};
    Panels_double panels_double = {0};
    Job job = {0};

    for (int i = 0; i < n_inputs; ++i) {
        TF_GetInput(context, i, &in[i], status);
        if (!ok(context, status)) goto done;
    }
    const TF_Tensor *samples = in[0], *centroids = in[1];
    if (TF_NumDims(samples) != 2 || TF_NumDims(centroids) != 2 || TF_Dim(samples, 1) != TF_Dim(centroids, 1)) {
        fail(context, status, TF_INVALID_ARGUMENT, "samples and centroids must be matrices with the same columns");
        goto done;
    }
    job.n_samples = TF_Dim(samples, 0);
    job.n_features = TF_Dim(samples, 1);
    job.n_clusters = TF_Dim(centroids, 0);
    const int labels_input = bounded ? 3 : 2;
    if (changes && (TF_NumDims(in[labels_input]) != 1 || TF_Dim(in[labels_input], 0) != job.n_samples)) {
        fail(context, status, TF_INVALID_ARGUMENT, "labels must have one entry per sample");
        goto done;
    }
    if (bounded) {
        for (int i = 4; i < 7; ++i) {
            if (TF_NumDims(in[i]) != 1 || TF_Dim(in[i], 0) != job.n_samples) {
                fail(context, status, TF_INVALID_ARGUMENT, "upper, lower and norms must have one entry per sample");
                goto done;
            }
        }
        if (TF_NumDims(in[2]) != 2 || TF_Dim(in[2], 0) != job.n_clusters || TF_Dim(in[2], 1) != job.n_features) {
            fail(context, status, TF_INVALID_ARGUMENT, "previous centroids must have the centroids' shape");
            goto done;
        }
    }

    const int64_t rows[1] = {job.n_samples}, grid[2] = {job.n_clusters, job.n_features}, clusters[1] = {job.n_clusters};
    int o = 0;
    out[o] = output(context, o, TF_INT64, rows, 1, sizeof(int64_t), status);
    if (!ok(context, status)) goto done;
    if (bounded) {
        for (o = 1; o < 3; ++o) {
            out[o] = output(context, o, TF_DOUBLE, rows, 1, sizeof(double), status);
            if (!ok(context, status)) goto done;
        }
    } else {
        o = 1;
    }
    TF_Tensor *sums = out[o] = output(context, o, TF_DOUBLE, grid, 2, sizeof(double), status);
    if (!ok(context, status)) goto done;
    ++o;
    TF_Tensor *counts = out[o] = output(context, o, TF_DOUBLE, clusters, 1, sizeof(double), status);
    if (!ok(context, status)) goto done;
    TF_Tensor *changed = NULL;
    if (changes) {
        ++o;
        changed = out[o] = output(context, o, TF_INT64, NULL, 0, sizeof(int64_t), status);
        if (!ok(context, status)) goto done;
    }

    job.n_blocks = count_blocks(job.n_samples, (double)job.n_clusters * (job.n_features + 1) * sizeof(double));
    job.samples = TF_TensorData(samples);
    job.centroids = TF_TensorData(centroids);
    job.labels = TF_TensorData(out[0]);
    block_sums = calloc(job.n_blocks * job.n_clusters * job.n_features, sizeof(double));
    block_counts = calloc(job.n_blocks * job.n_clusters, sizeof(double));
    block_changed = calloc(job.n_blocks, sizeof(int64_t));
    const int is_float = TF_TensorType(samples) == TF_FLOAT;
    int packed;
    if (is_float) {
        packed = pack_float(&panels_float, job.centroids, job.n_clusters, job.n_features);
        job.panels = &panels_float;
        job.run_block = run_block_float;
        job.slack = 8.0 * (job.n_features + 2) * FLT_EPSILON;
    } else {
        packed = pack_double(&panels_double, job.centroids, job.n_clusters, job.n_features);
        job.panels = &panels_double;
        job.run_block = run_block_double;
        job.slack = 8.0 * (job.n_features + 2) * DBL_EPSILON;
    }
    if (bounded) {
        moves = malloc(job.n_clusters * sizeof(double));
        gaps = malloc(job.n_clusters * sizeof(double));
    }
    if (!packed || !block_sums || !block_counts || !block_changed || (bounded && (!moves || !gaps))) {
        fail(context, status, TF_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    if (bounded) {
        centroid_moves(job.centroids, TF_TensorData(in[2]), is_float, &job, moves);
        half_gaps(job.centroids, is_float, job.n_clusters, job.n_features, gaps);
        job.moves = moves;
        job.half_gaps = gaps;
        job.bounded = 1;
        job.old_upper = TF_TensorData(in[4]);
        job.old_lower = TF_TensorData(in[5]);
        job.norms = TF_TensorData(in[6]);
        job.norm_bound = *(const double *)TF_TensorData(in[7]);
        job.upper = TF_TensorData(out[1]);
        job.lower = TF_TensorData(out[2]);
    }
    if (changes) job.old_labels = TF_TensorData(in[labels_input]);
    job.block_sums = block_sums;
    job.block_counts = block_counts;
    job.block_changed = block_changed;
    run_blocks(&job);

    double *sum = TF_TensorData(sums), *count = TF_TensorData(counts);
    const int64_t grid_size = job.n_clusters * job.n_features;
    memset(sum, 0, grid_size * sizeof(double));
    memset(count, 0, job.n_clusters * sizeof(double));
    for (int64_t b = 0; b < job.n_blocks; ++b) {
        for (int64_t i = 0; i < grid_size; ++i) sum[i] += block_sums[b * grid_size + i];
        for (int64_t c = 0; c < job.n_clusters; ++c) count[c] += block_counts[b * job.n_clusters + c];
    }
    if (changes) {
        int64_t *total = TF_TensorData(changed);
        *total = 0;
        for (int64_t b = 0; b < job.n_blocks; ++b) *total += block_changed[b];
    }

done:
    free(panels_float.values);
    free(panels_float.half_norms);
    free(panels_double.values);
    free(panels_double.half_norms);
    free(block_sums);
    free(block_counts);
    free(block_changed);
    free(moves);
    free(gaps);
    for (int i = 0; i < MAX_INPUTS; ++i) TF_DeleteTensor(in[i]);
    for (int i = 0; i < MAX_OUTPUTS; ++i) TF_DeleteTensor(out[i]);
    TF_DeleteStatus(status);
}

/* SumSquaredDistances: inputs samples, centroids, labels; output the float64 sum over
 * samples of the squared distance to their labelled centroid, computed directly. */
static void compute_inertia(void *kernel, TF_OpKernelContext *context) {
    (void)kernel;
    TF_Status *status = TF_NewStatus();
    TF_Tensor *in[3] = {0}, *out = NULL;
    double *block_totals = NULL;
    Job job = {0};
    for (int i = 0; i < 3; ++i) {
        TF_GetInput(context, i, &in[i], status);
        if (!ok(context, status)) goto done;
    }
    if (TF_NumDims(in[0]) != 2 || TF_NumDims(in[1]) != 2 || TF_Dim(in[0], 1) != TF_Dim(in[1], 1) ||
        TF_NumDims(in[2]) != 1 || TF_Dim(in[2], 0) != TF_Dim(in[0], 0)) {
        fail(context, status, TF_INVALID_ARGUMENT,
             "samples and centroids must be matrices with the same columns, and labels one per sample");
        goto done;
    }
    job.n_samples = TF_Dim(in[0], 0);
    job.n_features = TF_Dim(in[0], 1);
    job.n_clusters = TF_Dim(in[1], 0);
    const int64_t *labels = TF_TensorData(in[2]);
    for (int64_t row = 0; row < job.n_samples; ++row) {
        if (labels[row] < 0 || labels[row] >= job.n_clusters) {
            fail(context, status, TF_INVALID_ARGUMENT, "a label is not the index of a centroid");
            goto done;
        }
    }
    out = output(context, 0, TF_DOUBLE, NULL, 0, sizeof(double), status);
    if (!ok(context, status)) goto done;
    job.n_blocks = count_blocks(job.n_samples, sizeof(double));
    block_totals = calloc(job.n_blocks, sizeof(double));
    if (!block_totals) {
        fail(context, status, TF_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    job.samples = TF_TensorData(in[0]);
    job.centroids = TF_TensorData(in[1]);
    job.labels = (int64_t *)labels;
    job.block_sums = block_totals;
    job.run_block = TF_TensorType(in[0]) == TF_FLOAT ? inertia_block_float : inertia_block_double;
    run_blocks(&job);
    double total = 0;
    for (int64_t b = 0; b < job.n_blocks; ++b) total += block_totals[b];
    *(double *)TF_TensorData(out) = total;

done:
    free(block_totals);
    for (int i = 0; i < 3; ++i) TF_DeleteTensor(in[i]);
    TF_DeleteTensor(out);
    TF_DeleteStatus(status);
}

static void infer_scalar(TF_ShapeInferenceContext *context, TF_Status *status) {
    TF_ShapeHandle *scalar = TF_ShapeInferenceContextScalar(context);
    TF_ShapeInferenceContextSetOutput(context, 0, scalar, status);
    TF_DeleteShapeHandle(scalar);
}

/* The kernel's state is only which pass it is (SumSquaredDistances uses create_sums too). */
static void *create_sums(TF_OpKernelConstruction *construction) {
    (void)construction;
    static const Pass pass = SUMS;
    return (void *)&pass;
}

static void *create_changes(TF_OpKernelConstruction *construction) {
    (void)construction;
    static const Pass pass = CHANGES;
    return (void *)&pass;
}

static void *create_bounded(TF_OpKernelConstruction *construction) {
    (void)construction;
    static const Pass pass = BOUNDED;
    return (void *)&pass;
}

static void delete_kernel(void *kernel) { (void)kernel; }

/* Output shapes: labels (and bounds) (n_samples,), sums like the centroids, counts (n_clusters,). */
static void infer_shapes(TF_ShapeInferenceContext *context, TF_Status *status, int n_row_outputs) {
    TF_ShapeHandle *samples = TF_NewShapeHandle(), *centroids = TF_NewShapeHandle();
    TF_ShapeHandle *rows = TF_NewShapeHandle(), *clusters = TF_NewShapeHandle();
    TF_ShapeInferenceContextGetInput(context, 0, samples, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextGetInput(context, 1, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(context, samples, 2, samples, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(context, centroids, 2, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSubshape(context, samples, 0, 1, rows, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSubshape(context, centroids, 0, 1, clusters, status);
    for (int i = 0; i < n_row_outputs && TF_GetCode(status) == TF_OK; ++i)
        TF_ShapeInferenceContextSetOutput(context, i, rows, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, n_row_outputs, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, n_row_outputs + 1, clusters, status);
    TF_DeleteShapeHandle(samples);
    TF_DeleteShapeHandle(centroids);
    TF_DeleteShapeHandle(rows);
    TF_DeleteShapeHandle(clusters);
}

static void infer_sums(TF_ShapeInferenceContext *context, TF_Status *status) { infer_shapes(context, status, 1); }

/* As infer_shapes, and the count of changed labels last (a scalar). */
static void infer_changes_after(TF_ShapeInferenceContext *context, TF_Status *status, int n_row_outputs) {
    infer_shapes(context, status, n_row_outputs);
    if (TF_GetCode(status) != TF_OK) return;
    TF_ShapeHandle *scalar = TF_ShapeInferenceContextScalar(context);
    TF_ShapeInferenceContextSetOutput(context, n_row_outputs + 2, scalar, status);
    TF_DeleteShapeHandle(scalar);
}

static void infer_changes(TF_ShapeInferenceContext *context, TF_Status *status) {
    infer_changes_after(context, status, 1);
}

static void infer_bounded(TF_ShapeInferenceContext *context, TF_Status *status) {
    infer_changes_after(context, status, 3);
}

static void register_kernels(const char *name, void *(*create)(TF_OpKernelConstruction *),
                             void (*run)(void *, TF_OpKernelContext *), TF_Status *status) {
    const TF_DataType types[2] = {TF_FLOAT, TF_DOUBLE};
    for (int t = 0; t < 2 && TF_GetCode(status) == TF_OK; ++t) {
        TF_KernelBuilder *builder = TF_NewKernelBuilder(name, "CPU", create, run, delete_kernel);
        TF_KernelBuilder_TypeConstraint(builder, "T", types[t], status);
        if (TF_GetCode(status) == TF_OK) TF_RegisterKernelBuilder(name, builder, status);
    }
}

/* An op: its inputs after the two all share (samples: T, centroids: T, T float or double),
 * its outputs, its shape function and its kernel. */
typedef struct {
    const char *name, *inputs[7], *outputs[7]; /* lists end at the first NULL */
    void (*infer)(TF_ShapeInferenceContext *, TF_Status *);
    void *(*create)(TF_OpKernelConstruction *);
    void (*run)(void *, TF_OpKernelContext *);
} OpSpec;

static const OpSpec OPS[] = {
    {"NearestCentroidSums", {NULL}, {"labels: int64", "sums: double", "counts: double"},
     infer_sums, create_sums, compute},
    {"NearestCentroidChanges", {"labels: int64"},
     {"new_labels: int64", "sum_changes: double", "count_changes: double", "changed: int64"},
     infer_changes, create_changes, compute},
    {"NearestCentroidChangesBounded",
     {"previous_centroids: T", "labels: int64", "upper: double", "lower: double", "norms: double",
      "norm_bound: double"},
     {"new_labels: int64", "new_upper: double", "new_lower: double", "sum_changes: double", "count_changes: double",
      "changed: int64"},
     infer_bounded, create_bounded, compute},
    {"SumSquaredDistances", {"labels: int64"}, {"total: double"}, infer_scalar, create_sums, compute_inertia},
};

/* Register one op and its float and double CPU kernels. */
static void register_op(const OpSpec *spec, TF_Status *status) {
    TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(spec->name);
    TF_OpDefinitionBuilderAddAttr(op, "T: {float, double}");
    TF_OpDefinitionBuilderAddInput(op, "samples: T");
    TF_OpDefinitionBuilderAddInput(op, "centroids: T");
    for (int i = 0; spec->inputs[i]; ++i) TF_OpDefinitionBuilderAddInput(op, spec->inputs[i]);
    for (int i = 0; spec->outputs[i]; ++i) TF_OpDefinitionBuilderAddOutput(op, spec->outputs[i]);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, spec->infer);
    TF_RegisterOpDefinition(op, status);
    if (TF_GetCode(status) == TF_OK) register_kernels(spec->name, spec->create, spec->run, status);
}

/* Registers the ops and their CPU kernels when TensorFlow loads this library. */
__attribute__((constructor)) static void register_ops(void) {
    TF_Status *status = TF_NewStatus();
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0] && TF_GetCode(status) == TF_OK; ++i) register_op(&OPS[i], status);
    TF_DeleteStatus(status);
}
