/* Exact sums' limbs (pass.h) added up, in plain C (no TensorFlow): what KmeansTf>ExactAdd computes. */
#ifndef KMEANS_TF_LIMBS_H
#define KMEANS_TF_LIMBS_H

#include <stdint.h>

/* total = a + b, normalized, and values = its value in float64, per cell of n_cells (each of
 * LIMBS limbs): the units over first[c] * second[c] of its column c = cell % n_columns. The same
 * numbers, by the same arithmetic, as kmeans_tf/engine/exact.py's tf_normalized and tf_value.
 * `total` may be `a` or `b` (each cell is read before it is written). Ranges of cells go to
 * several threads: each cell is its own, so the answer is the same however many. */
void add_limbs(const double *a, const double *b, const double *first, const double *second, int64_t n_cells,
               int64_t n_columns, double *total, double *values);

#endif
