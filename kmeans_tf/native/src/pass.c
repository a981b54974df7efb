/* One Lloyd pass on the CPU, fused: every sample's nearest centroid, and the float64
 * per-cluster sums and counts of the samples, in a single sweep over the data (see
 * pass.h). TensorFlow's own ops need three sweeps for this (matmul, argmin, segment sums)
 * and write a (rows, n_clusters) block to memory between them; here that block never
 * leaves the registers. The distance is scikit-learn's expansion: argmin over c of
 * ||c||^2/2 - x.c. Sparse samples (pass.h) are read by their non-zeros alone: each adds its
 * value times its feature's row of the transposed centroids to the row's dot products.
 *
 * Rows go in blocks (pool.h). The sums are exact: each term is rounded to whole units
 * (Points.factors) and added exactly, so they are the same however the rows are split
 * (threads, blocks, chunks, workers). A block of dense rows adds them into 64-bit running
 * sums of its own, moved into the output's float64 limbs (limbs.h) before they could
 * overflow; sparse rows' sums come after their labels, a cluster at a time (cluster_sums), and
 * a sparse pass with old labels sums nothing: the loop takes sparse rows' sums whole from
 * cluster_sums, as values, and holds no limbs of every cluster. The typed code is pass_body.h, included below once for float and once for double. */
#include "pass.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "geometry.h"
#include "limbs.h"
#include "pool.h"

/* The kernel measures a tile of rows at a time: the tile's dot products with a panel of
 * centroids add up in registers (ROWS_PER_TILE x 2 vectors of them, with the panel's 2). */
enum { ROWS_PER_TILE = 6 };

/* When more than half a tile's rows are suspects of the bounded pass, measuring the whole
 * tile at once costs less than measuring them one by one. */
enum { SUSPECTS_FOR_A_WHOLE_TILE = ROWS_PER_TILE / 2 + 1 };

/* A sparse row's non-zeros add up their dot products with this many vectors of centroids
 * at a time, in registers (with a vector of the centroids' and a broadcast value beside). */
enum { SPARSE_CHUNK = 8 };

/* The bounded pass measures the centroids' half gaps where that costs at most this share of the pass. */
#define HALF_GAPS_SHARE 0.1

/* The size of a transparent huge page (x86-64 and arm64 with 4 KiB pages). */
#define HUGE_PAGE ((int64_t)2 << 20)

static int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

/* Blocks of this many bytes or more are mapped from the system on their own (block), not taken
 * from malloc: glibc raises its threshold for mapping to the size of the largest mapped block
 * freed (up to 32 MiB), and would then keep up to twice that of freed memory in its heaps after
 * a pass over rows of many columns. */
#define MAPPED_BLOCK ((int64_t)1 << 20)

/* Where a mapped block's mapping starts and its length, just before the block. */
typedef struct {
    void *start;
    size_t length;
} Mapping;

/* A 64-byte aligned block of at least `bytes` of zeros (and at least one byte), or NULL; give
 * it back with release(block, bytes). One of MAPPED_BLOCK bytes or more is mapped; one of
 * HUGE_PAGE bytes or more is aligned to huge pages and asks for them: the sparse pass reads the
 * transposed centroids at random, and with small pages nearly every read would miss the TLB. */
static void *block(int64_t bytes) {
    if (bytes < MAPPED_BLOCK) {
        const int64_t length = round_up(bytes > 0 ? bytes : 1, 64);
        void *given = aligned_alloc(64, length);
        return given ? memset(given, 0, length) : NULL;
    }
    const int64_t alignment = bytes >= HUGE_PAGE ? HUGE_PAGE : 64, size = round_up(bytes, alignment);
    const size_t length = size + alignment + sizeof(Mapping);
    char *start = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (start == MAP_FAILED) return NULL;
    const uintptr_t first = (uintptr_t)start + sizeof(Mapping); /* the block's first byte at the earliest */
    char *aligned = (char *)(first + (alignment - first % alignment) % alignment);
    ((Mapping *)aligned)[-1] = (Mapping){start, length};
    if (alignment == HUGE_PAGE) madvise(aligned, size, MADV_HUGEPAGE);
    return aligned;
}

/* Give back a block of `bytes` (block; NULL: nothing). */
static void release(void *given, int64_t bytes) {
    if (!given) return;
    if (bytes < MAPPED_BLOCK) {
        free(given);
        return;
    }
    const Mapping mapping = ((Mapping *)given)[-1];
    munmap(mapping.start, mapping.length);
}

/* calloc that gives a pointer for zero items too (or NULL when out of memory). */
static void *zeroed(int64_t count, size_t size) { return calloc(count > 0 ? count : 1, size); }

/* fmax without the library call (and without its care for NaN, which cannot occur here). */
static inline double larger(double a, double b) { return a > b ? a : b; }

/* A block of rows: its own results, added up once the threads joined. */
typedef struct {
    double *sums, *counts; /* the pass's output limbs (pass.h): every block's, shared (under `lock`) */
    pthread_mutex_t *lock;
    double *members;      /* (n_clusters,) */
    int64_t *running_sums, *running_counts; /* 64-bit sums of units since the last flush_cluster, likewise
                                               (no running_sums for sparse rows) */
    int32_t *pending;     /* (n_clusters,): the rows added to or taken from each running sum since */
    int64_t *units;       /* a dense row's units (n_features; sparse rows' come in cluster_sums) */
    int64_t changed;       /* rows whose label changed */
    int64_t skipped;       /* the bounded pass: rows whose bounds proved their label */
    int not_finite;        /* a summed value was NaN or infinite */
    double inertia;        /* SumSquaredDistances: the block's share */
    PassOutcome problem;   /* PASS_DONE, or what ended the block: */
    int64_t bad_row;       /* the row whose label was out of [lowest, n_clusters), or whose weight was bad */
    int64_t bad_label, lowest;
    double bad_weight;
    void *scratch;         /* the bounded pass: a tile of gathered rows; sparse rows: a row's dot products */
} Block;

/* `value` (below 2^63 in magnitude) rounded to the nearest whole number, ties to even, as
 * llrint, numpy's rint and TensorFlow's round do: below 2^52, adding and taking 2^52 leaves
 * the rounded value (in the default rounding mode); from 2^52 on, every double is whole.
 * Unlike llrint, the compiler vectorizes it. */
static inline int64_t whole_units(double value) {
    const double magnitude = fabs(value);
    const double rounded = magnitude < 0x1p52 ? (magnitude + 0x1p52) - 0x1p52 : magnitude;
    return (int64_t)copysign(rounded, value);
}

/* A term's units are below 2^54 in magnitude (kmeans_tf/engine/exact.py's VALUE_BITS): a
 * 64-bit running sum takes 2^9 of them before it could overflow, and moves into the output's
 * limbs after this many. */
enum { FLUSH_EVERY = 256 };

/* Add a 64-bit running sum to an exact sum's normalized limbs (pass.h), which stay normalized. */
static void add_to_limbs(int64_t running, double *limbs) {
    add_pieces(running, limbs);
    normalize_limbs(limbs);
}

/* Move cluster `c`'s 64-bit running sums and count into the pass's output limbs, which every
 * block shares: integers, so the order in which the blocks come does not matter. The caller
 * holds the lock. */
static void flush_locked(Block *block, int64_t c, int64_t n_features) {
    if (!block->pending[c]) return;
    if (block->running_sums) { /* none for sparse rows: their sums come after (cluster_sums) */
        int64_t *running = block->running_sums + c * n_features;
        double *sums = block->sums + c * n_features * LIMBS;
        for (int64_t f = 0; f < n_features; ++f) {
            if (running[f]) add_to_limbs(running[f], sums + f * LIMBS);
            running[f] = 0;
        }
    }
    add_to_limbs(block->running_counts[c], block->counts + c * LIMBS);
    block->running_counts[c] = 0;
    block->pending[c] = 0;
}

/* flush_locked, for one cluster (c >= 0) or every one (c < 0), taking the lock. */
static void flush_cluster(Block *block, int64_t c, int64_t n_clusters, int64_t n_features) {
    pthread_mutex_lock(block->lock);
    if (c >= 0)
        flush_locked(block, c, n_features);
    else
        for (int64_t each = 0; each < n_clusters; ++each) flush_locked(block, each, n_features);
    pthread_mutex_unlock(block->lock);
}

/* Note that labels[row] = label is outside [lowest, n_clusters); return 0. */
static int note_bad_label(Block *block, int64_t row, int64_t label, int64_t lowest) {
    block->problem = PASS_BAD_LABEL;
    block->bad_row = row;
    block->bad_label = label;
    block->lowest = lowest;
    return 0;
}

/* Whether a weight is allowed: finite and >= 0 (a NaN fails both comparisons). */
static inline int good_weight(double weight) { return weight >= 0 && weight <= DBL_MAX; }

/* Note that weights[row] = weight is negative, infinite or NaN. */
static void note_bad_weight(Block *block, int64_t row, double weight) {
    block->problem = PASS_BAD_WEIGHT;
    block->bad_row = row;
    block->bad_weight = weight;
}

/* Block `index` of `n_blocks` holds rows [begin, end). */
static void block_rows(int64_t n_samples, int64_t n_blocks, int64_t index, int64_t *begin, int64_t *end) {
    *begin = n_samples * index / n_blocks;
    *end = n_samples * (index + 1) / n_blocks;
}

/* What the bounded pass adds: the bounds, and how the centroids moved since. */
typedef struct {
    Bounds bounds;
    CentroidMoves moves;
    double *half_gaps; /* (n_clusters,): see measure_half_gaps */
    double slack;      /* a squared distance's rounding error, relative to the norms: see set_bounds */
} Hamerly;

/* One nearest-centroid pass's work. */
typedef struct {
    Points points;
    const void *panels;        /* the centroids, packed: a Panels_float or a Panels_double (transposed for sparse rows) */
    const double *centroid_norms; /* sparse rows' bounded pass: (n_clusters,) squared norms; else NULL */
    int64_t *labels;           /* OUT (n_samples,) */
    const int64_t *old_labels; /* IN (n_samples,): the changes passes; NULL: fresh sums */
    const Hamerly *hamerly;    /* the bounded pass; NULL: the plain one */
    Block *blocks;
    int64_t n_blocks;
} Job;

/* SumSquaredDistances's work. */
typedef struct {
    Points points;
    const int64_t *labels; /* IN (n_samples,) */
    const double *centroid_norms; /* sparse rows: (n_clusters,) squared norms; else NULL */
    Block *blocks;
    int64_t n_blocks;
} InertiaJob;

/* cluster_sums's work: the rows grouped by cluster, and the clusters in parts of about equal work. */
typedef struct {
    const Points *points;
    const int64_t *rows;           /* (n_samples,): cluster 0's rows, then cluster 1's, ..., each in row order */
    const int64_t *cluster_starts; /* (n_clusters + 1,): cluster c's are rows[cluster_starts[c] .. cluster_starts[c + 1]) */
    const int64_t *part_starts;    /* (n_parts + 1,): part p sums clusters part_starts[p] .. part_starts[p + 1] - 1 */
    int64_t *cells;                /* (n_parts, n_features, 2): each part's own (add_to_cells, limbs.h) */
    ClusterOutput out;             /* OUT: where the sums go (pass.h) */
    int *not_finite;               /* OUT (n_parts,): a part met a value that is NaN or infinite */
    int same_factors;              /* every column has column 0's factors (Points.factors) */
} ClusterSumsJob;

/* cluster_sums's parts per usable CPU: several, so that a large cluster holds the others up less. */
enum { CLUSTER_PARTS_PER_CPU = 4 };

/* cluster_sums reads its rows in cluster order, scattered: it asks for a row's data this many
 * rows ahead, and for where a sparse row's data starts further ahead still. */
enum { ROWS_AHEAD = 8, ROW_STARTS_AHEAD = 24 };

/* Prefetch where sparse row `row`'s non-zeros start (dense rows: nothing to prefetch). */
static inline void prefetch_row_start(const Points *points, int64_t row) {
    if (points->sparse) __builtin_prefetch(points->sparse->row_starts + row);
}

/* The typed kernels, once for float and once for double. */
typedef float VecFloat __attribute__((vector_size(32)));
typedef int32_t MaskFloat __attribute__((vector_size(32)));
typedef double VecDouble __attribute__((vector_size(32)));
typedef int64_t MaskDouble __attribute__((vector_size(32)));

/* Defines LANES_float, PANEL_float, Panels_float, pack_float, load_float, select_float,
 * minimum_float, lanes_min_float, nearest_rows_float, sparse_dots_float,
 * nearest_sparse_row_float, assign_all_float, squared_distance_float,
 * row_squared_distance_float, set_bounds_float, measure_rows_float, prefetch_row_float,
 * assign_bounded_float, value_units_float, row_units_float, add_units_float,
 * add_changes_float, add_row_to_cells_float, cluster_sums_part_float, run_block_float,
 * add_inertia_float and inertia_block_float. */
/* Whether a float or a double is a NaN or an infinity: all its exponent bits set. */
static inline int not_finite_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return (bits & 0x7f800000u) == 0x7f800000u;
}

static inline int not_finite_double(double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return (bits & 0x7ff0000000000000u) == 0x7ff0000000000000u;
}

#define REAL float
#define VEC VecFloat
#define MASK MaskFloat
#define SWAP_HALVES {{4, 5, 6, 7, 0, 1, 2, 3}, {2, 3, 0, 1, 6, 7, 4, 5}, {1, 0, 3, 2, 5, 4, 7, 6}}
#define TYPED(name) name##_float
#include "pass_body.h"
#undef REAL
#undef VEC
#undef MASK
#undef SWAP_HALVES
#undef TYPED

/* Defines LANES_double, PANEL_double, Panels_double, pack_double, load_double,
 * select_double, minimum_double, lanes_min_double, nearest_rows_double,
 * sparse_dots_double, nearest_sparse_row_double, assign_all_double,
 * squared_distance_double, row_squared_distance_double, set_bounds_double,
 * measure_rows_double, prefetch_row_double, assign_bounded_double, value_units_double,
 * row_units_double, add_units_double, add_row_to_cells_double, cluster_sums_part_double,
 * add_changes_double, run_block_double, add_inertia_double and inertia_block_double. */
#define REAL double
#define VEC VecDouble
#define MASK MaskDouble
#define SWAP_HALVES {{2, 3, 0, 1}, {1, 0, 3, 2}}
#define TYPED(name) name##_double
#include "pass_body.h"
#undef REAL
#undef VEC
#undef MASK
#undef SWAP_HALVES
#undef TYPED

/* The first bad label or weight, in row order of the blocks' first ones, or PASS_DONE. */
static PassResult first_problem(const Block *blocks, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; ++b) {
        const Block *block = &blocks[b];
        if (block->problem != PASS_DONE)
            return (PassResult){block->problem, block->bad_row, block->bad_label, block->lowest, block->bad_weight};
    }
    return (PassResult){PASS_DONE, 0, 0, 0, 0};
}

/* The sums a pass gives each block: the output's exact ones (shared), 64-bit running ones, and a row's units. */
typedef struct {
    double *sums, *counts;
    double *members;
    int64_t *running_sums, *running_counts, *units;
    int32_t *pending;
} BlockSums;

/* Give each block the shared exact sums and their lock, its share of `shared`'s other arrays, and of `scratch` (NULL:
 * none). */
static void share_out(Block *blocks, int64_t n_blocks, const BlockSums *shared, pthread_mutex_t *lock, int64_t grid,
                      int64_t n_clusters, int64_t row_units, char *scratch, int64_t scratch_bytes) {
    for (int64_t b = 0; b < n_blocks; ++b) {
        blocks[b].sums = shared->sums;
        blocks[b].counts = shared->counts;
        blocks[b].lock = lock;
        blocks[b].members = shared->members + b * n_clusters;
        blocks[b].running_sums = shared->running_sums ? shared->running_sums + b * grid : NULL;
        blocks[b].running_counts = shared->running_counts + b * n_clusters;
        blocks[b].pending = shared->pending + b * n_clusters;
        blocks[b].units = shared->units + b * row_units;
        if (scratch) blocks[b].scratch = scratch + b * scratch_bytes;
    }
}

/* Whether measuring the centroids' half gaps (k^2 d / 2 multiply-adds) costs at most a
 * HALF_GAPS_SHARE of the pass's own work (n k d, or k per non-zero of sparse rows). Always, but
 * for sparse rows of many columns, where it could cost as much as the pass. */
static int half_gaps_pay(const Points *points) {
    const double k = (double)points->n_clusters, d = (double)points->n_features;
    const double pass = points->sparse ? (double)points->sparse->row_starts[points->n_samples] * k
                                       : (double)points->n_samples * k * d;
    return k * k * d / 2 <= pass * HALF_GAPS_SHARE;
}

PassResult nearest_centroid_pass(const Points *points, const int64_t *old_labels, const Bounds *bounds,
                                 PassOutput *out) {
    const int64_t n_clusters = points->n_clusters, n_features = points->n_features, grid = n_clusters * n_features;
    const int64_t element = points->is_float ? sizeof(float) : sizeof(double);
    const int64_t n_blocks = count_blocks(points->n_samples, (double)n_clusters * (n_features + 1) * sizeof(int64_t));
    /* Dense rows: one panel of centroids per PANEL; sparse rows: one panel of them all. */
    const int64_t width = points->is_float ? (points->sparse ? round_up(n_clusters, LANES_float) : PANEL_float)
                                           : (points->sparse ? round_up(n_clusters, LANES_double) : PANEL_double);
    const int64_t scratch_bytes = round_up((points->sparse ? width : ROWS_PER_TILE * n_features) * element, 64);
    Job job = {.points = *points, .labels = out->labels, .old_labels = old_labels, .n_blocks = n_blocks};
    /* A score sums a row's products term by term: n_features of them, or a sparse row's non-zeros. */
    const int64_t terms = points->sparse ? points->sparse->longest_row : n_features;
    Hamerly hamerly = {.slack = 8.0 * (terms + 2) * (points->is_float ? FLT_EPSILON : DBL_EPSILON)};
    Panels_float panels_float = {0};
    Panels_double panels_double = {0};
    PassResult result = {PASS_OUT_OF_MEMORY, 0, 0, 0, 0};
    /* Each block sums into 64-bit running sums of its own, which it moves into the output's limbs. */
    const int64_t row_units = points->sparse ? 0 : n_features; /* sparse rows' units: cluster_sums */
    if (out->sums && !points->sparse) memset(out->sums, 0, grid * LIMBS * sizeof(double)); /* the blocks add into them */
    memset(out->counts, 0, n_clusters * LIMBS * sizeof(double));
    BlockSums shared = {
        .sums = out->sums,
        .counts = out->counts,
        .members = zeroed(n_blocks * n_clusters, sizeof(double)),
        .running_sums = points->sparse ? NULL : zeroed(n_blocks * grid, sizeof(int64_t)),
        .running_counts = zeroed(n_blocks * n_clusters, sizeof(int64_t)),
        .units = zeroed(n_blocks * row_units, sizeof(int64_t)),
        .pending = zeroed(n_blocks * n_clusters, sizeof(int32_t)),
    };
    char *scratch = bounds || points->sparse ? block(n_blocks * scratch_bytes) : NULL;
    double *centroid_norms = bounds && points->sparse ? malloc(n_clusters * sizeof(double)) : NULL;
    job.blocks = zeroed(n_blocks, sizeof(Block));
    if (!shared.members || (!shared.running_sums && !points->sparse) || !shared.running_counts || !shared.units ||
        !shared.pending || !job.blocks || ((bounds || points->sparse) && !scratch) ||
        (bounds && points->sparse && !centroid_norms))
        goto done;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    share_out(job.blocks, n_blocks, &shared, &lock, grid, n_clusters, row_units, scratch, scratch_bytes);
    if (points->is_float) {
        if (!pack_float(&panels_float, points->centroids, n_clusters, n_features, width, points->sparse != NULL))
            goto done;
        job.panels = &panels_float;
    } else {
        if (!pack_double(&panels_double, points->centroids, n_clusters, n_features, width, points->sparse != NULL))
            goto done;
        job.panels = &panels_double;
    }
    if (bounds) {
        hamerly.bounds = *bounds;
        hamerly.moves.moves = malloc(n_clusters * sizeof(double));
        hamerly.half_gaps = malloc(n_clusters * sizeof(double));
        if (!hamerly.moves.moves || !hamerly.half_gaps) goto done;
        measure_moves(points, bounds->previous_centroids, &hamerly.moves);
        if (half_gaps_pay(points))
            measure_half_gaps(points, hamerly.half_gaps);
        else
            memset(hamerly.half_gaps, 0, n_clusters * sizeof(double)); /* no gap known: the lower bounds alone */
        if (centroid_norms) measure_squared_norms(points, centroid_norms);
        job.centroid_norms = centroid_norms;
        job.hamerly = &hamerly;
    }
    run_blocks(&job, n_blocks, points->is_float ? run_block_float : run_block_double);

    result = first_problem(job.blocks, n_blocks);
    if (result.outcome != PASS_DONE) goto done;
    if (points->sparse && out->sums) { /* sparse rows' sums, whole, by their labels (none with old labels: pass.h) */
        result = cluster_sums(points, out->labels, (ClusterOutput){.limbs = out->sums});
        if (result.outcome != PASS_DONE) goto done;
    }
    int not_finite = 0;
    memset(out->members, 0, n_clusters * sizeof(double));
    out->changed = out->skipped = 0;
    for (int64_t b = 0; b < n_blocks; ++b) {
        for (int64_t c = 0; c < n_clusters; ++c) out->members[c] += job.blocks[b].members[c];
        out->changed += job.blocks[b].changed;
        out->skipped += job.blocks[b].skipped;
        not_finite |= job.blocks[b].not_finite;
    }
    /* Rows that are not finite have no sums: NaN says so (the op's callers check the sums). */
    for (int64_t i = 0; not_finite && out->sums && i < grid * LIMBS; ++i) out->sums[i] = NAN;

done:
    release_panels_float(&panels_float);
    release_panels_double(&panels_double);
    free(hamerly.moves.moves);
    free(hamerly.half_gaps);
    free(shared.members);
    free(shared.running_sums);
    free(shared.running_counts);
    free(shared.units);
    free(shared.pending);
    release(scratch, n_blocks * scratch_bytes);
    free(centroid_norms);
    free(job.blocks);
    return result;
}

PassResult sum_squared_distances(const Points *points, const int64_t *labels, double *total) {
    InertiaJob job = {.points = *points, .labels = labels, .n_blocks = count_blocks(points->n_samples, sizeof(double))};
    double *centroid_norms = points->sparse ? malloc(points->n_clusters * sizeof(double)) : NULL;
    job.blocks = zeroed(job.n_blocks, sizeof(Block));
    if (!job.blocks || (points->sparse && !centroid_norms)) {
        free(job.blocks);
        free(centroid_norms);
        return (PassResult){PASS_OUT_OF_MEMORY, 0, 0, 0, 0};
    }
    if (centroid_norms) measure_squared_norms(points, centroid_norms);
    job.centroid_norms = centroid_norms;
    run_blocks(&job, job.n_blocks, points->is_float ? inertia_block_float : inertia_block_double);
    const PassResult result = first_problem(job.blocks, job.n_blocks);
    if (result.outcome == PASS_DONE) {
        *total = 0;
        for (int64_t b = 0; b < job.n_blocks; ++b) *total += job.blocks[b].inertia;
    }
    free(job.blocks);
    free(centroid_norms);
    return result;
}

/* Group the rows by their labels (a counting sort, in row order within a cluster) into
 * job->rows and job->cluster_starts, checking each label and weight, and split the clusters
 * into job->part_starts' parts of about equal work (a sparse row's work: its non-zeros). */
static PassResult group_rows(const Points *points, const int64_t *labels, int64_t n_parts, int64_t *rows,
                             int64_t *cluster_starts, int64_t *part_starts, double *work) {
    const int64_t n_samples = points->n_samples, n_clusters = points->n_clusters;
    double total = 0;
    for (int64_t row = 0; row < n_samples; ++row) {
        const int64_t label = labels[row];
        if ((uint64_t)label >= (uint64_t)n_clusters) return (PassResult){PASS_BAD_LABEL, row, label, 0, 0};
        if (points->weights && !good_weight(points->weights[row]))
            return (PassResult){PASS_BAD_WEIGHT, row, 0, 0, points->weights[row]};
        const double row_work = 1.0 + (double)(points->sparse ? points->sparse->row_starts[row + 1] -
                                                                   points->sparse->row_starts[row]
                                                             : points->n_features);
        ++cluster_starts[label + 1];
        work[label] += row_work;
        total += row_work;
    }
    for (int64_t c = 0; c < n_clusters; ++c) cluster_starts[c + 1] += cluster_starts[c];
    for (int64_t row = 0; row < n_samples; ++row) rows[cluster_starts[labels[row]]++] = row;
    for (int64_t c = n_clusters; c > 0; --c) cluster_starts[c] = cluster_starts[c - 1]; /* back to each start */
    cluster_starts[0] = 0;
    double done = 0;
    int64_t part = 1;
    part_starts[0] = 0;
    for (int64_t c = 0; c < n_clusters && part < n_parts; ++c) {
        done += work[c];
        if (done >= total * (double)part / (double)n_parts) part_starts[part++] = c + 1;
    }
    while (part <= n_parts) part_starts[part++] = n_clusters;
    return (PassResult){PASS_DONE, 0, 0, 0, 0};
}

/* Whether every column has column 0's two factors (Points.factors). */
static int same_factors(const Points *points) {
    const double *first = points->factors, *second = points->factors + points->n_features + 1;
    for (int64_t f = 1; f < points->n_features; ++f)
        if (first[f] != first[0] || second[f] != second[0]) return 0;
    return 1;
}

PassResult cluster_sums(const Points *points, const int64_t *labels, ClusterOutput out) {
    const int64_t n_clusters = points->n_clusters, n_features = points->n_features;
    int64_t n_parts = CLUSTER_PARTS_PER_CPU * usable_cpus();
    if (n_parts > n_clusters) n_parts = n_clusters;
    const int64_t rows_bytes = points->n_samples * sizeof(int64_t), cells_bytes = n_parts * n_features * 2 * 8;
    int64_t *rows = block(rows_bytes);
    int64_t *cluster_starts = zeroed(n_clusters + 1, sizeof(int64_t));
    int64_t *part_starts = zeroed(n_parts + 1, sizeof(int64_t));
    double *work = zeroed(n_clusters, sizeof(double));
    int64_t *cells = block(cells_bytes);
    int *not_finite = zeroed(n_parts, sizeof(int));
    PassResult result = {PASS_OUT_OF_MEMORY, 0, 0, 0, 0};
    if (rows && cluster_starts && part_starts && work && cells && not_finite) {
        result = group_rows(points, labels, n_parts, rows, cluster_starts, part_starts, work);
        if (result.outcome == PASS_DONE) {
            ClusterSumsJob job = {points, rows, cluster_starts, part_starts, cells, out, not_finite,
                                  same_factors(points)};
            run_blocks(&job, n_parts, points->is_float ? cluster_sums_part_float : cluster_sums_part_double);
            int any = 0;
            for (int64_t p = 0; p < n_parts; ++p) any |= not_finite[p];
            const int64_t n_cells = n_clusters * n_features;
            for (int64_t i = 0; any && out.values && i < n_cells; ++i) out.values[i] = NAN;
            for (int64_t i = 0; any && out.limbs && i < n_cells * LIMBS; ++i) out.limbs[i] = NAN;
            for (int64_t i = 0; any && out.means && i < n_cells; ++i)
                if (points->is_float)
                    ((float *)out.means)[i] = NAN;
                else
                    ((double *)out.means)[i] = NAN;
        }
    }
    release(rows, rows_bytes);
    free(cluster_starts);
    free(part_starts);
    free(work);
    release(cells, cells_bytes);
    free(not_finite);
    return result;
}
