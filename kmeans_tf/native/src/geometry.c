/* Distances between centroids, and their norms, in float64 (see geometry.h). */
#include "geometry.h"

#include <math.h>

/* Element i of a float or double array, in float64. */
static inline double element(const void *values, int is_float, int64_t i) {
    return is_float ? (double)((const float *)values)[i] : ((const double *)values)[i];
}

/* The centroids that moved most, where they moved more than SWING times as far as the next one: the first such
 * gap in the MOVERS + 1 largest moves ends the movers, and the next move is the largest of the rest. Where no such gap
 * is found, no centroid swings: none is a mover. */
static void find_movers(CentroidMoves *moves, int64_t n_clusters) {
    int64_t top[MOVERS + 1];
    int n_top = 0;
    for (int64_t c = 0; c < n_clusters; ++c) { /* the MOVERS + 1 farthest, farthest first (ties: the lower index) */
        int at = n_top < MOVERS + 1 ? n_top++ : MOVERS + 1;
        while (at > 0 && moves->moves[c] > moves->moves[top[at - 1]]) {
            if (at < MOVERS + 1) top[at] = top[at - 1];
            --at;
        }
        if (at < MOVERS + 1) top[at] = c;
    }
    moves->n_movers = 0;
    moves->rest_move = moves->max_move;
    for (int j = 1; j < n_top; ++j) {
        if (moves->moves[top[j - 1]] > SWING * moves->moves[top[j]]) {
            for (int m = 0; m < j; ++m) moves->movers[m] = top[m];
            moves->n_movers = j;
            moves->rest_move = moves->moves[top[j]];
            return;
        }
    }
}

void measure_moves(const Points *points, const void *previous, CentroidMoves *moves) {
    const int64_t n_features = points->n_features;
    moves->max_move = moves->second_move = 0;
    moves->farthest_mover = -1;
    for (int64_t c = 0; c < points->n_clusters; ++c) {
        double total = 0;
        for (int64_t f = 0; f < n_features; ++f) {
            const int64_t i = c * n_features + f;
            const double gap = element(points->centroids, points->is_float, i) - element(previous, points->is_float, i);
            total += gap * gap;
        }
        const double move = moves->moves[c] = sqrt(total);
        if (move > moves->max_move) {
            moves->second_move = moves->max_move;
            moves->max_move = move;
            moves->farthest_mover = c;
        } else if (move > moves->second_move) {
            moves->second_move = move;
        }
    }
    find_movers(moves, points->n_clusters);
}

void measure_squared_norms(const Points *points, double *norms) {
    const int64_t n_features = points->n_features;
    for (int64_t c = 0; c < points->n_clusters; ++c) {
        double total = 0;
        for (int64_t f = 0; f < n_features; ++f) {
            const double value = element(points->centroids, points->is_float, c * n_features + f);
            total += value * value;
        }
        norms[c] = total;
    }
}

void measure_half_gaps(const Points *points, double *gaps) {
    const int64_t n_clusters = points->n_clusters, n_features = points->n_features;
    for (int64_t c = 0; c < n_clusters; ++c) gaps[c] = INFINITY;
    for (int64_t a = 0; a < n_clusters; ++a) {
        for (int64_t b = a + 1; b < n_clusters; ++b) {
            double total = 0;
            for (int64_t f = 0; f < n_features; ++f) {
                const double gap = element(points->centroids, points->is_float, a * n_features + f) -
                                   element(points->centroids, points->is_float, b * n_features + f);
                total += gap * gap;
            }
            const double half = sqrt(total) / 2;
            if (half < gaps[a]) gaps[a] = half;
            if (half < gaps[b]) gaps[b] = half;
        }
    }
}
