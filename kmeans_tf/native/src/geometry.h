/* Distances between centroids, and their norms, for the passes (plain C, no TensorFlow). */
#ifndef KMEANS_TF_GEOMETRY_H
#define KMEANS_TF_GEOMETRY_H

#include "pass.h"

/* How far the centroids moved since the bounds were kept. */
typedef struct {
    double *moves;  /* (n_clusters,): each centroid's move, in float64 */
    double max_move, second_move;
    int64_t farthest_mover; /* the centroid that moved max_move (-1: none moved) */
} CentroidMoves;

/* Fill `moves` (whose `moves` array has n_clusters entries) from the move of each centroid
 * of `points` since `previous` (same shape and type). */
void measure_moves(const Points *points, const void *previous, CentroidMoves *moves);

/* Each centroid's squared norm, in float64, into `norms` (n_clusters entries). */
void measure_squared_norms(const Points *points, double *norms);

/* Half the distance from each centroid to the nearest other one (+inf for a lone centroid)
 * into `gaps` (n_clusters entries). */
void measure_half_gaps(const Points *points, double *gaps);

#endif
