/* One Lloyd pass on the CPU, fused: every sample's nearest centroid, and the float64
 * per-cluster sums and counts of the samples, in a single sweep over the data.
 *
 * TensorFlow's own ops need three sweeps for this (matmul, argmin, segment sums) and write
 * a (rows, n_clusters) block to memory between them; here that block never leaves the
 * registers. The distance is scikit-learn's expansion: argmin over c of ||c||^2/2 - x.c.
 *
 * Plain C against TensorFlow's C kernel API (tensorflow/c/kernels.h), so that gcc alone
 * builds it. Built by `python -m compat.build_kernels`; loaded by compat/_native.py. */
#define _GNU_SOURCE
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

#define OP_NAME "NearestCentroidSums"
enum { MIN_ROWS_PER_THREAD = 1024, MAX_THREADS = 64 };

static int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

/* One call's work, split into n_blocks blocks of rows; each block has its own sums. */
typedef struct Job {
    const void *samples;
    const void *panels;
    int64_t n_samples, n_clusters, n_features, n_blocks;
    int64_t *labels;
    double *block_sums, *block_counts;
    void (*run_block)(const struct Job *job, int64_t block);
} Job;

/* The typed kernels, once for float and once for double. */
typedef float VecFloat __attribute__((vector_size(32)));
typedef int32_t MaskFloat __attribute__((vector_size(32)));
typedef double VecDouble __attribute__((vector_size(32)));
typedef int64_t MaskDouble __attribute__((vector_size(32)));

#define REAL float
#define VEC VecFloat
#define MASK MaskFloat
#define TYPED(name) name##_float
#include "nearest_centroid_body.h"
#undef REAL
#undef VEC
#undef MASK
#undef TYPED

#define REAL double
#define VEC VecDouble
#define MASK MaskDouble
#define TYPED(name) name##_double
#include "nearest_centroid_body.h"
#undef REAL
#undef VEC
#undef MASK
#undef TYPED

typedef struct {
    const Job *job;
    int64_t block;
} Task;

static void *run_task(void *argument) {
    const Task *task = argument;
    task->job->run_block(task->job, task->block);
    return NULL;
}

/* Run every block, one thread each; the calling thread takes block 0. */
static void run_blocks(const Job *job) {
    pthread_t threads[MAX_THREADS];
    Task tasks[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int64_t b = 1; b < job->n_blocks; ++b) {
        tasks[b] = (Task){job, b};
        started[b] = pthread_create(&threads[b], NULL, run_task, &tasks[b]) == 0;
        if (!started[b]) job->run_block(job, b);
    }
    job->run_block(job, 0);
    for (int64_t b = 1; b < job->n_blocks; ++b) {
        if (started[b]) pthread_join(threads[b], NULL);
    }
}

static int64_t usable_cpus(void) {
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
    return CPU_COUNT(&cpus);
}

static void fail(TF_OpKernelContext *context, TF_Status *status, TF_Code code, const char *message) {
    TF_SetStatus(status, code, message);
    TF_OpKernelContext_Failure(context, status);
}

static void compute(void *kernel, TF_OpKernelContext *context) {
    (void)kernel;
    TF_Status *status = TF_NewStatus();
    TF_Tensor *samples = NULL, *centroids = NULL, *labels = NULL, *sums = NULL, *counts = NULL;
    double *block_sums = NULL, *block_counts = NULL;
    void *panels = NULL;
    Panels_float panels_float = {0};
    Panels_double panels_double = {0};

    TF_GetInput(context, 0, &samples, status);
    if (TF_GetCode(status) == TF_OK) TF_GetInput(context, 1, &centroids, status);
    if (TF_GetCode(status) != TF_OK) {
        TF_OpKernelContext_Failure(context, status);
        goto done;
    }
    if (TF_NumDims(samples) != 2 || TF_NumDims(centroids) != 2 || TF_Dim(samples, 1) != TF_Dim(centroids, 1)) {
        fail(context, status, TF_INVALID_ARGUMENT, OP_NAME ": samples and centroids must be matrices with the same columns");
        goto done;
    }
    const int64_t n_samples = TF_Dim(samples, 0), n_features = TF_Dim(samples, 1), n_clusters = TF_Dim(centroids, 0);
    const int64_t labels_shape[1] = {n_samples}, sums_shape[2] = {n_clusters, n_features}, counts_shape[1] = {n_clusters};
    labels = TF_AllocateOutput(context, 0, TF_INT64, labels_shape, 1, n_samples * sizeof(int64_t), status);
    if (TF_GetCode(status) == TF_OK)
        sums = TF_AllocateOutput(context, 1, TF_DOUBLE, sums_shape, 2, n_clusters * n_features * sizeof(double), status);
    if (TF_GetCode(status) == TF_OK)
        counts = TF_AllocateOutput(context, 2, TF_DOUBLE, counts_shape, 1, n_clusters * sizeof(double), status);
    if (TF_GetCode(status) != TF_OK) {
        TF_OpKernelContext_Failure(context, status);
        goto done;
    }

    int64_t n_blocks = usable_cpus();
    if (n_blocks > n_samples / MIN_ROWS_PER_THREAD) n_blocks = n_samples / MIN_ROWS_PER_THREAD;
    if (n_blocks > MAX_THREADS) n_blocks = MAX_THREADS;
    if (n_blocks < 1) n_blocks = 1;
    Job job = {TF_TensorData(samples), NULL, n_samples, n_clusters, n_features, n_blocks, TF_TensorData(labels),
               NULL, NULL, NULL};
    block_sums = calloc(n_blocks * n_clusters * n_features, sizeof(double));
    block_counts = calloc(n_blocks * n_clusters, sizeof(double));
    int packed;
    if (TF_TensorType(samples) == TF_FLOAT) {
        packed = pack_float(&panels_float, TF_TensorData(centroids), n_clusters, n_features);
        job.panels = &panels_float;
        job.run_block = run_block_float;
    } else {
        packed = pack_double(&panels_double, TF_TensorData(centroids), n_clusters, n_features);
        job.panels = &panels_double;
        job.run_block = run_block_double;
    }
    if (!packed || !block_sums || !block_counts) {
        fail(context, status, TF_RESOURCE_EXHAUSTED, OP_NAME ": out of memory");
        goto done;
    }
    job.block_sums = block_sums;
    job.block_counts = block_counts;
    run_blocks(&job);

    double *sum = TF_TensorData(sums), *count = TF_TensorData(counts);
    memset(sum, 0, n_clusters * n_features * sizeof(double));
    memset(count, 0, n_clusters * sizeof(double));
    for (int64_t b = 0; b < n_blocks; ++b) {
        for (int64_t i = 0; i < n_clusters * n_features; ++i) sum[i] += block_sums[b * n_clusters * n_features + i];
        for (int64_t c = 0; c < n_clusters; ++c) count[c] += block_counts[b * n_clusters + c];
    }

done:
    (void)panels;
    free(panels_float.values);
    free(panels_float.half_norms);
    free(panels_double.values);
    free(panels_double.half_norms);
    free(block_sums);
    free(block_counts);
    TF_DeleteTensor(samples);
    TF_DeleteTensor(centroids);
    TF_DeleteTensor(labels);
    TF_DeleteTensor(sums);
    TF_DeleteTensor(counts);
    TF_DeleteStatus(status);
}

static void *create(TF_OpKernelConstruction *construction) {
    (void)construction;
    return NULL;
}

static void delete_kernel(void *kernel) { (void)kernel; }

/* Output shapes: labels (n_samples,), sums like the centroids, counts (n_clusters,). */
static void infer_shapes(TF_ShapeInferenceContext *context, TF_Status *status) {
    TF_ShapeHandle *samples = TF_NewShapeHandle(), *centroids = TF_NewShapeHandle();
    TF_ShapeHandle *rows = TF_NewShapeHandle(), *clusters = TF_NewShapeHandle();
    TF_ShapeInferenceContextGetInput(context, 0, samples, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextGetInput(context, 1, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(context, samples, 2, samples, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(context, centroids, 2, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSubshape(context, samples, 0, 1, rows, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSubshape(context, centroids, 0, 1, clusters, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, 0, rows, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, 1, centroids, status);
    if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(context, 2, clusters, status);
    TF_DeleteShapeHandle(samples);
    TF_DeleteShapeHandle(centroids);
    TF_DeleteShapeHandle(rows);
    TF_DeleteShapeHandle(clusters);
}

/* Registers the op and its CPU kernel when TensorFlow loads this library. */
__attribute__((constructor)) static void register_op(void) {
    TF_Status *status = TF_NewStatus();
    TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(OP_NAME);
    TF_OpDefinitionBuilderAddAttr(op, "T: {float, double}");
    TF_OpDefinitionBuilderAddInput(op, "samples: T");
    TF_OpDefinitionBuilderAddInput(op, "centroids: T");
    TF_OpDefinitionBuilderAddOutput(op, "labels: int64");
    TF_OpDefinitionBuilderAddOutput(op, "sums: double");
    TF_OpDefinitionBuilderAddOutput(op, "counts: double");
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, infer_shapes);
    TF_RegisterOpDefinition(op, status);

    const TF_DataType types[2] = {TF_FLOAT, TF_DOUBLE};
    for (int t = 0; t < 2 && TF_GetCode(status) == TF_OK; ++t) {
        TF_KernelBuilder *builder = TF_NewKernelBuilder(OP_NAME, "CPU", create, compute, delete_kernel);
        TF_KernelBuilder_TypeConstraint(builder, "T", types[t], status);
        if (TF_GetCode(status) == TF_OK) TF_RegisterKernelBuilder(OP_NAME, builder, status);
    }
    TF_DeleteStatus(status);
}
