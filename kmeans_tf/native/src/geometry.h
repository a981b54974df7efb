/* Distances between centroids, and their norms, for the passes (plain C, no TensorFlow). */
#ifndef KMEANS_TF_GEOMETRY_H
#define KMEANS_TF_GEOMETRY_H

#include "pass.h"

/* The bounded pass measures a row's distance to the centroids that moved most, up to MOVERS of
 * them, where they moved more than SWING times as far as any other: their moves then need not
 * lower the row's bound on every other centroid (see assign_bounded). */
enum { MOVERS = 4 };
#define SWING 2.0

/* How far the centroids moved since the bounds were kept. */
typedef struct {
    double *moves;  /* (n_clusters,): each centroid's move, in float64 */
    double max_move, second_move;
    int64_t farthest_mover; /* the centroid that moved max_move (-1: none moved) */
    int64_t movers[MOVERS]; /* the centroids that swing (find_movers in geometry.c), farthest first */
    int n_movers;           /* 0: none swings */
    double rest_move;       /* the largest move of a centroid not among the movers (max_move without movers) */
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
