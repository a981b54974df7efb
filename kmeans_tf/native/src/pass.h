/* The Lloyd pass over the data, in plain C (no TensorFlow): what the ops (ops.c) hand it
 * and what it gives back. It assumes shapes that ops.c checked; the labels and weights it
 * reads are checked as it reads them (a bad one ends the pass with PASS_BAD_LABEL or
 * PASS_BAD_WEIGHT). */
#ifndef KMEANS_TF_PASS_H
#define KMEANS_TF_PASS_H

#include <stdint.h>

/* The float pass carries centroid indices in float lanes, exact up to 2**24. */
#define MAX_FLOAT_CENTROIDS ((int64_t)1 << 24)

/* Samples given by their non-zeros, row by row (compressed sparse rows, their order checked
 * by ops.c): row i's non-zeros are entries row_starts[i] .. row_starts[i + 1] - 1, in
 * increasing columns; a row may have none. */
typedef struct {
    const int64_t *row_starts; /* IN (n_samples + 1,): each row's first non-zero; row_starts[n_samples] = nnz */
    const int32_t *columns;    /* IN (nnz,): each non-zero's column */
    const void *values;        /* IN (nnz,): the samples' type */
    int64_t longest_row;       /* IN: the most non-zeros of any row */
} SparseRows;

/* The samples and centroids every pass reads, row-major. */
typedef struct {
    const void *samples;   /* IN (n_samples, n_features), float or double; NULL where `sparse` gives them */
    const SparseRows *sparse; /* IN: the samples by their non-zeros; NULL where `samples` gives them */
    const void *centroids; /* IN (n_clusters, n_features), the samples' type; n_clusters >= 1 */
    const double *weights; /* IN (n_samples,): each sample's weight (checked as read); NULL: every weight 1 */
    const double *factors; /* IN (2, n_features + 1): per column, two powers of two whose product makes weight x
                              value a whole number of units (rounded to nearest, ties to even); last, the
                              weights' own */
    int64_t n_samples, n_features, n_clusters;
    int is_float;          /* 1: float elements; 0: double */
} Points;

/* The bounded pass's Hamerly bounds: per sample, an upper bound on the distance to its
 * centroid and a lower bound on the distance to any other (see assign_bounded). */
typedef struct {
    const void *previous_centroids; /* IN (n_clusters, n_features): the centroids the bounds are for */
    const double *upper, *lower;    /* IN (n_samples,) */
    const double *norms;            /* IN (n_samples,): each sample's squared norm */
    double norm_bound;              /* IN: bounds every sample's and centroid's squared norm */
    double *new_upper, *new_lower;  /* OUT (n_samples,): the bounds for these centroids */
} Bounds;

/* An exact sum's limbs: its value in units is limbs[0] + limbs[1] 2^26 + limbs[2] 2^52, the
 * first two in [0, 2^26) (kmeans_tf/engine/exact.py). */
enum { LIMBS = 3, LIMB_BITS = 26 };

/* What a pass gives. Sums are exact: the same whatever the order of the rows. */
typedef struct {
    int64_t *labels; /* OUT (n_samples,): each sample's nearest centroid */
    double *sums;    /* OUT (n_clusters, n_features, LIMBS): weighted sums (of the changes, with old labels);
                        NULL for sparse rows with old labels, whose sums come whole from cluster_sums */
    double *counts;  /* OUT (n_clusters, LIMBS): the weights' sums (the counts, without weights) */
    double *members; /* OUT (n_clusters,): how many samples of weight > 0 (exact: a cluster is empty at 0) */
    int64_t changed; /* OUT: how many labels differ from the old ones (all, without old labels) */
    int64_t skipped; /* OUT: how many labels the bounds proved without measuring every centroid (0 without bounds) */
} PassOutput;

typedef enum { PASS_DONE, PASS_OUT_OF_MEMORY, PASS_BAD_LABEL, PASS_BAD_WEIGHT } PassOutcome;

/* How a pass ended; after PASS_BAD_LABEL, labels[row] = label is outside [lowest, n_clusters);
 * after PASS_BAD_WEIGHT, weights[row] = weight is negative, infinite or NaN. */
typedef struct {
    PassOutcome outcome;
    int64_t row, label, lowest;
    double weight;
} PassResult;

/* Every sample's nearest centroid, and the exact per-cluster sums and counts (of the
 * samples times their weights, and of the weights, in the units of `factors`), in one sweep. With old_labels (-1:
 * none yet), the sums are of the changes: a sample whose label changed is added to its new
 * cluster and taken from its old one. With bounds (which need old_labels), only the
 * samples whose bounds cannot prove their label are measured: the same labels and
 * bit-identical sums. */
PassResult nearest_centroid_pass(const Points *points, const int64_t *old_labels, const Bounds *bounds,
                                 PassOutput *out);

/* The float64 sum over samples of the squared distance to their labelled centroid, times
 * the sample's weight. */
PassResult sum_squared_distances(const Points *points, const int64_t *labels, double *total);

/* Where cluster_sums writes each cluster's exact sums: one of values, limbs and means. */
typedef struct {
    double *values;         /* (n_clusters, n_features): the value of each exact sum, rounded once, as
                               KmeansTf>ExactAdd gives it from limbs; or NULL */
    double *limbs;          /* (n_clusters, n_features, LIMBS): the exact sums as normalized limbs; or NULL */
    void *means;            /* (n_clusters, n_features), in the samples' dtype: each value divided by its
                               cluster's divisor, in float64, then rounded to the dtype; or NULL */
    const double *divisors; /* (n_clusters,): with means */
} ClusterOutput;

/* Each cluster's exact (weighted) sum of its samples (labels in [0, n_clusters), checked as
 * read; the weights too), written as `out` says. A cluster at a time in sums of one row's
 * size, so that values and means hold no (n_clusters, n_features, LIMBS) limbs. A value that
 * is NaN or infinite makes every sum NaN. */
PassResult cluster_sums(const Points *points, const int64_t *labels, ClusterOutput out);

#endif
