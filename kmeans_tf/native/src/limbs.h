/* Exact sums' limbs (pass.h), in plain C (no TensorFlow): a whole number of units added to
 * them, their normalization, and two of them added up (what KmeansTf>ExactAdd computes). */
#ifndef KMEANS_TF_LIMBS_H
#define KMEANS_TF_LIMBS_H

#include <math.h>
#include <stdint.h>

#include "pass.h"

/* Add `units` (below 2^54 in magnitude) to an exact sum's limbs as three pieces, none above
 * 2^26 in magnitude, without carrying: limbs stay exact for 2^26 such additions, and
 * normalize_limbs then makes them normalized again. */
static inline void add_pieces(int64_t units, double *limbs) {
    const int64_t low_mask = ((int64_t)1 << LIMB_BITS) - 1;
    limbs[0] += (double)(units & low_mask);
    limbs[1] += (double)((units >> LIMB_BITS) & low_mask); /* >> of a negative number: arithmetic in gcc */
    limbs[2] += (double)(units >> (2 * LIMB_BITS));
}

/* Carry an exact sum's limbs until the first two are in [0, 2^26): its normalized limbs (pass.h). */
static inline void normalize_limbs(double *limbs) {
    const double base = (double)((int64_t)1 << LIMB_BITS);
    for (int l = 0; l < LIMBS - 1; ++l) {
        const double carry = floor(limbs[l] / base);
        limbs[l] -= carry * base;
        limbs[l + 1] += carry;
    }
}

/* Add `units` (below 2^54 in magnitude) to a cell of two 64-bit sums: of its low LIMB_BITS
 * bits, and of the rest (an arithmetic shift). Each sum stays exact for 2^35 additions:
 * cells_to_limbs then gives the cell's normalized limbs. */
static inline void add_to_cells(int64_t units, int64_t *cell) {
    cell[0] += units & (((int64_t)1 << LIMB_BITS) - 1);
    cell[1] += units >> LIMB_BITS; /* >> of a negative number: arithmetic in gcc */
}

/* The normalized limbs (pass.h) of a cell of add_to_cells: low + high 2^LIMB_BITS units. */
static inline void cells_to_limbs(const int64_t *cell, double *limbs) {
    const int64_t low_mask = ((int64_t)1 << LIMB_BITS) - 1, high = cell[1] + (cell[0] >> LIMB_BITS);
    limbs[0] = (double)(cell[0] & low_mask);
    limbs[1] = (double)(high & low_mask);
    limbs[2] = (double)(high >> LIMB_BITS);
}

/* The float64 value of normalized limbs: their units over first * second (a column's two
 * factors, Points.factors), rounded once. */
static inline double limbs_value(const double *limbs, double first, double second) {
    const double base = (double)((int64_t)1 << LIMB_BITS);
    return ((limbs[2] * base + limbs[1]) * base + limbs[0]) / first / second;
}

/* total = a + b, normalized, and values = its value in float64, per cell of n_cells (each of
 * LIMBS limbs): the units over first[c] * second[c] of its column c = cell % n_columns. The same
 * numbers, by the same arithmetic, as kmeans_tf/engine/exact.py's tf_normalized and tf_value.
 * `total` may be `a` or `b` (each cell is read before it is written). Ranges of cells go to
 * several threads: each cell is its own, so the answer is the same however many. */
void add_limbs(const double *a, const double *b, const double *first, const double *second, int64_t n_cells,
               int64_t n_columns, double *total, double *values);

#endif
