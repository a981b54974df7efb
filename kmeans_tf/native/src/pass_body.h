/* The typed half of pass.c, included there once per element type with REAL (float or
 * double), VEC (a 32-byte SIMD vector of REAL), MASK (the integer vector a comparison of
 * two VECs gives) and TYPED(name) (the name with the type as suffix: TYPED(pack) is
 * pack_float or pack_double). It defines, for T = float and T = double:
 *   LANES_T, PANEL_T, Panels_T, pack_T, load_T, select_T, minimum_T, lanes_min_T,
 *   nearest_rows_T, assign_all_T, squared_distance_T, set_bounds_T, measure_rows_T,
 *   prefetch_row_T, assign_bounded_T, add_changes_T, run_block_T, add_inertia_T, inertia_block_T
 * (pass.c lists the full names where it includes this file). */

enum { TYPED(LANES) = sizeof(VEC) / sizeof(REAL), TYPED(PANEL) = 2 * sizeof(VEC) / sizeof(REAL) };

/* Centroids in panels of PANEL (two vectors): panel p holds, feature by feature, centroids
 * p*PANEL .. p*PANEL + PANEL - 1. Padding centroids get +inf half-norms, so they never win. */
typedef struct {
    int64_t count, features;
    REAL *values, *half_norms;
} TYPED(Panels);

static int TYPED(pack)(TYPED(Panels) *panels, const REAL *centroids, int64_t n_clusters, int64_t n_features) {
    const int64_t panel = TYPED(PANEL);
    panels->count = (n_clusters + panel - 1) / panel;
    panels->features = n_features;
    panels->values = aligned_block(panels->count * n_features * panel * sizeof(REAL));
    panels->half_norms = aligned_block(panels->count * panel * sizeof(REAL));
    if (!panels->values || !panels->half_norms) return 0;
    memset(panels->values, 0, panels->count * n_features * panel * sizeof(REAL));
    for (int64_t c = 0; c < panels->count * panel; ++c) panels->half_norms[c] = (REAL)INFINITY;
    for (int64_t c = 0; c < n_clusters; ++c) {
        REAL norm = 0;
        for (int64_t f = 0; f < n_features; ++f) {
            const REAL v = centroids[c * n_features + f];
            panels->values[((c / panel) * n_features + f) * panel + c % panel] = v;
            norm += v * v;
        }
        panels->half_norms[c] = norm / 2;
    }
    return 1;
}

static inline VEC TYPED(load)(const REAL *p) {
    VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline VEC TYPED(select)(MASK take_a, VEC a, VEC b) {
    return (VEC)(((MASK)a & take_a) | ((MASK)b & ~take_a));
}

static inline VEC TYPED(minimum)(VEC a, VEC b) { return TYPED(select)(a < b, a, b); }

/* The smallest lane, in every lane: log2(lanes) rounds of swapping halves, with the
 * constant lane orders of SWAP_HALVES (a mask built at run time costs more than the rounds). */
static inline VEC TYPED(lanes_min)(VEC v) {
    static const MASK partners[] = SWAP_HALVES;
    for (size_t round = 0; round < sizeof partners / sizeof partners[0]; ++round)
        v = TYPED(minimum)(v, __builtin_shuffle(v, partners[round]));
    return v;
}

/* Labels for n_rows (at most ROWS_PER_TILE; a constant after inlining) consecutive samples. For each panel the
 * n_rows x PANEL dot products add up in registers over the features; then for each row the
 * panel's two halves meet lane by lane (a lane holds centroids l and l + LANES of the
 * panel), and each lane keeps its smallest score ||c||^2/2 - x.c so far and that
 * centroid's index. A lane sees its centroids in increasing order, so strict comparisons
 * keep the earlier of tied ones. With with_scores (a constant too), each lane also keeps
 * its second smallest score, and the row's smallest and second smallest scores are
 * written out, for distance bounds. */
static inline __attribute__((always_inline)) void TYPED(nearest_rows)(
        const REAL *rows, const int n_rows, const TYPED(Panels) *panels, int64_t *labels, const int with_scores,
        double *best_scores, double *second_scores) {
    enum { lanes = TYPED(LANES), panel_size = TYPED(PANEL) };
    const int64_t n_features = panels->features;
    VEC best[ROWS_PER_TILE], best_index[ROWS_PER_TILE], second[ROWS_PER_TILE], lane_offset[2];
    for (int l = 0; l < lanes; ++l) {
        lane_offset[0][l] = (REAL)l;
        lane_offset[1][l] = (REAL)(l + lanes);
    }
    for (int r = 0; r < n_rows; ++r) {
        best[r] = second[r] = (VEC){0} + (REAL)INFINITY;
        best_index[r] = (VEC){0};
    }
    for (int64_t p = 0; p < panels->count; ++p) {
        const REAL *panel = panels->values + p * n_features * panel_size;
        VEC dot[ROWS_PER_TILE][2];
        for (int r = 0; r < n_rows; ++r) dot[r][0] = dot[r][1] = (VEC){0};
        for (int64_t f = 0; f < n_features; ++f) {
            const VEC c0 = TYPED(load)(panel + f * panel_size), c1 = TYPED(load)(panel + f * panel_size + lanes);
            for (int r = 0; r < n_rows; ++r) {
                const REAL x = rows[r * n_features + f];
                dot[r][0] += x * c0;
                dot[r][1] += x * c1;
            }
        }
        const VEC half_norm0 = TYPED(load)(panels->half_norms + p * panel_size);
        const VEC half_norm1 = TYPED(load)(panels->half_norms + p * panel_size + lanes);
        const VEC index0 = lane_offset[0] + (REAL)(p * panel_size), index1 = lane_offset[1] + (REAL)(p * panel_size);
        for (int r = 0; r < n_rows; ++r) {
            const VEC score0 = half_norm0 - dot[r][0], score1 = half_norm1 - dot[r][1];
            const MASK take1 = score1 < score0; /* strict: the first half's centroid keeps a tie */
            const VEC score = TYPED(select)(take1, score1, score0), index = TYPED(select)(take1, index1, index0);
            const MASK better = score < best[r]; /* strict: the earlier panel's centroid keeps a tie */
            if (with_scores) {
                /* The second smallest of best, second, score and the half that lost (>= score). */
                const VEC loser = TYPED(select)(take1, score0, score1);
                second[r] = TYPED(select)(better, TYPED(minimum)(best[r], loser), TYPED(minimum)(second[r], score));
            }
            best[r] = TYPED(select)(better, score, best[r]);
            best_index[r] = TYPED(select)(better, index, best_index[r]);
        }
    }
    /* Across lanes: the smallest score, and on a tie the smallest index (as argmin does). */
    const VEC infinity = (VEC){0} + (REAL)INFINITY;
    for (int r = 0; r < n_rows; ++r) {
        const VEC smallest = TYPED(lanes_min)(best[r]);
        const VEC index = TYPED(lanes_min)(TYPED(select)(best[r] == smallest, best_index[r], infinity));
        labels[r] = (int64_t)index[0];
        if (with_scores) {
            /* The runner-up: the winner's lane's second score, every other lane's best. */
            const MASK winner = (best[r] == smallest) & (best_index[r] == index);
            best_scores[r] = smallest[0];
            second_scores[r] = TYPED(lanes_min)(TYPED(select)(winner, second[r], best[r]))[0];
        }
    }
}

/* The plain pass over rows [begin, end): every row measured against every centroid, a
 * tile of rows at a time. */
static void TYPED(assign_all)(const Job *job, int64_t begin, int64_t end) {
    const TYPED(Panels) *panels = job->panels;
    const REAL *samples = job->points.samples;
    const int64_t n_features = panels->features;
    int64_t row = begin;
    for (; row + ROWS_PER_TILE <= end; row += ROWS_PER_TILE)
        TYPED(nearest_rows)(samples + row * n_features, ROWS_PER_TILE, panels, job->labels + row, 0, NULL, NULL);
    for (; row < end; ++row)
        TYPED(nearest_rows)(samples + row * n_features, 1, panels, job->labels + row, 0, NULL, NULL);
}

/* ||x - y||^2 in float64, four features to a vector and two vectors of sums side by side
 * (one running sum would wait on each addition in turn). */
static inline double TYPED(squared_distance)(const REAL *x, const REAL *y, int64_t n_features) {
    typedef REAL Real4 __attribute__((vector_size(4 * sizeof(REAL))));
    VecDouble total[2] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    int64_t f = 0;
    for (; f + 4 <= n_features; f += 4) {
        Real4 a, b;
        memcpy(&a, x + f, sizeof a);
        memcpy(&b, y + f, sizeof b);
        const VecDouble gap = __builtin_convertvector(a, VecDouble) - __builtin_convertvector(b, VecDouble);
        total[(f / 4) & 1] += gap * gap;
    }
    const VecDouble both = total[0] + total[1];
    double sum = (both[0] + both[1]) + (both[2] + both[3]);
    for (; f < n_features; ++f) {
        const double gap = (double)x[f] - y[f];
        sum += gap * gap;
    }
    return sum;
}

/* Set a measured row's label and fresh bounds. The kernel's squared distances are within
 * `error` of the true ones; the upper bound keeps a further 2 error in hand (see
 * assign_bounded), the lower bound gives the error away. */
static inline void TYPED(set_bounds)(const Job *job, int64_t row, int64_t label, double best, double second) {
    const Hamerly *hamerly = job->hamerly;
    const double norm = hamerly->bounds.norms[row];
    const double error = hamerly->slack * (norm + hamerly->bounds.norm_bound);
    job->labels[row] = label;
    hamerly->bounds.new_upper[row] = sqrt(larger(norm + 2 * best + error, 0) + 2 * error);
    hamerly->bounds.new_lower[row] = sqrt(larger(norm + 2 * second - error, 0));
}

/* Measure `count` (up to ROWS_PER_TILE) rows against every centroid with the plain pass's
 * kernel. The rows are gathered into `scratch` (a tile's rows), unless they are
 * consecutive (`rows` is NULL: `first` and the rows after it), so that a full tile shares
 * the tile kernel. */
static void TYPED(measure_rows)(const Job *job, int64_t first, const int64_t *rows, int count, REAL *scratch) {
    const TYPED(Panels) *panels = job->panels;
    const REAL *samples = job->points.samples;
    const int64_t n_features = panels->features;
    const REAL *block = samples + first * n_features;
    int64_t found[ROWS_PER_TILE];
    double best[ROWS_PER_TILE], second[ROWS_PER_TILE];
    if (rows) {
        for (int r = 0; r < count; ++r)
            memcpy(scratch + r * n_features, samples + rows[r] * n_features, n_features * sizeof(REAL));
        block = scratch;
    }
    if (count == ROWS_PER_TILE) {
        TYPED(nearest_rows)(block, ROWS_PER_TILE, panels, found, 1, best, second);
    } else {
        for (int r = 0; r < count; ++r)
            TYPED(nearest_rows)(block + r * n_features, 1, panels, found + r, 1, best + r, second + r);
    }
    for (int r = 0; r < count; ++r) TYPED(set_bounds)(job, rows ? rows[r] : first + r, found[r], best[r], second[r]);
}

/* Start fetching a sample's row into the cache: a suspect's row is read soon, and, the
 * rows between being skipped, the hardware would not see it coming. */
static inline void TYPED(prefetch_row)(const REAL *row, int64_t n_features) {
    const int64_t bytes = n_features * (int64_t)sizeof(REAL);
    for (int64_t byte = 0; byte < bytes; byte += 64) __builtin_prefetch((const char *)row + byte);
}

/* The bounded pass over rows [begin, end) (Hamerly 2010), a tile of rows at a time. `upper`
 * bounds sqrt(d_own^2 + 2 error) and `lower` the distance to every other centroid, where
 * d is a true distance and `error` bounds the kernel's rounding of a squared distance. A
 * row keeps its label, unmeasured, when upper <= lower or upper <= half the distance from
 * its centroid to the nearest other one: every other centroid is then farther by more
 * than twice the rounding error, so the plain pass would give the same label. A suspect
 * row first gets its own distance measured exactly; if that does not prove its label, it
 * is measured against every centroid with the plain pass's kernel. When most of a tile's
 * rows are suspects (early iterations), the whole tile is measured at once, as in the
 * plain pass. The bounds are checked a window of rows ahead, so that the suspects' rows
 * are on their way into the cache by the time they are measured.
 * A row with a finite upper bound must have a label in [0, n_clusters) (a row with no
 * label yet, -1, comes with an infinite one); on the first that does not, the pass notes
 * it in `block` and returns 0 before using it. */
static int TYPED(assign_bounded)(const Job *job, int64_t begin, int64_t end, Block *block) {
    enum { WINDOW = 8 * ROWS_PER_TILE }; /* rows, whole tiles */
    const Hamerly *hamerly = job->hamerly;
    const CentroidMoves *moves = &hamerly->moves;
    const REAL *samples = job->points.samples, *centroids = job->points.centroids;
    const int64_t n_features = job->points.n_features, n_clusters = job->points.n_clusters;
    REAL *scratch = block->scratch;
    int64_t pending[ROWS_PER_TILE] = {0};
    int n_pending = 0;
    for (int64_t start = begin; start < end; start += WINDOW) {
        const int in_window = end - start < WINDOW ? (int)(end - start) : WINDOW;
        double upper[WINDOW], lower[WINDOW], bound[WINDOW];
        int suspect[WINDOW];
        for (int r = 0; r < in_window; ++r) {
            const int64_t row = start + r, label = job->old_labels[row];
            upper[r] = hamerly->bounds.upper[row];
            suspect[r] = !isfinite(upper[r]);
            if (!suspect[r]) {
                if ((uint64_t)label >= (uint64_t)n_clusters) return note_bad_label(block, row, label, 0);
                upper[r] += moves->moves[label];
                lower[r] = hamerly->bounds.lower[row] -
                           (label == moves->farthest_mover ? moves->second_move : moves->max_move);
                bound[r] = larger(hamerly->half_gaps[label], lower[r]);
                suspect[r] = upper[r] > bound[r];
            }
            if (suspect[r]) TYPED(prefetch_row)(samples + row * n_features, n_features);
        }
        for (int tile = 0; tile < in_window; tile += ROWS_PER_TILE) {
            const int64_t first = start + tile;
            const int count = in_window - tile < ROWS_PER_TILE ? in_window - tile : ROWS_PER_TILE;
            int n_suspects = 0;
            for (int r = tile; r < tile + count; ++r) n_suspects += suspect[r];
            if (count == ROWS_PER_TILE && n_suspects >= SUSPECTS_FOR_A_WHOLE_TILE) {
                TYPED(measure_rows)(job, first, NULL, ROWS_PER_TILE, scratch);
                continue;
            }
            for (int r = tile; r < tile + count; ++r) {
                const int64_t row = start + r, label = job->old_labels[row];
                if (suspect[r] && isfinite(upper[r])) { /* a finite bound: the label was checked above */
                    const REAL *x = samples + row * n_features, *own = centroids + label * n_features;
                    const double squared_upper =
                        TYPED(squared_distance)(x, own, n_features) +
                        2 * hamerly->slack * (hamerly->bounds.norms[row] + hamerly->bounds.norm_bound);
                    suspect[r] = squared_upper > bound[r] * bound[r]; /* bound >= 0: no square root for a suspect */
                    if (!suspect[r]) upper[r] = sqrt(squared_upper);
                }
                if (!suspect[r]) {
                    job->labels[row] = label;
                    hamerly->bounds.new_upper[row] = upper[r];
                    hamerly->bounds.new_lower[row] = lower[r];
                    continue;
                }
                pending[n_pending++] = row;
                if (n_pending == ROWS_PER_TILE) {
                    TYPED(measure_rows)(job, 0, pending, ROWS_PER_TILE, scratch);
                    n_pending = 0;
                }
            }
        }
    }
    TYPED(measure_rows)(job, 0, pending, n_pending, scratch);
    return 1;
}

/* Add the rows [begin, end) whose label changed to their new cluster's float64 sum and
 * count in `block`, and take them from their old one (a label of -1: none yet; no
 * old_labels: every row is new, and the sums are of all rows), in row order; count them
 * in block->changed. Summing changes, not every row, spares the bounded pass a sweep over
 * the data; the plain pass sums the same changes, so both give the same sums. An old
 * label outside [-1, n_clusters) is noted in `block`, before it is used, and ends the
 * block (an old label equal to the new one is in range: the pass gave it).
 * `weighted` is a constant where this is inlined (run_block): with it, a row adds its
 * weight times its values, its weight to the count and 1 to the members when the weight
 * is > 0, and every row's weight is checked (finite, >= 0) as the row is read: a bad one
 * is noted in `block` and ends the block. Without it, the loop is the unweighted one, with
 * no test per row. */
static inline __attribute__((always_inline)) void TYPED(add_changes)(const Job *job, int64_t begin, int64_t end,
                                                                    Block *block, const int weighted) {
    const REAL *samples = job->points.samples;
    const double *weights = job->points.weights;
    const int64_t n_features = job->points.n_features, n_clusters = job->points.n_clusters;
    const int64_t *labels = job->labels, *old_labels = job->old_labels;
    double *sums = block->sums, *counts = block->counts, *members = block->members;
    int64_t changed = 0;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t label = labels[row], old = old_labels ? old_labels[row] : -1;
        const double weight = weighted ? weights[row] : 1;
        if (weighted && !good_weight(weight)) {
            note_bad_weight(block, row, weight);
            break;
        }
        if (label == old) continue;
        if (old < -1 || old >= n_clusters) {
            note_bad_label(block, row, old, -1);
            break;
        }
        ++changed;
        const REAL *x = samples + row * n_features;
        double *sum = sums + label * n_features;
        if (weighted) {
            for (int64_t f = 0; f < n_features; ++f) sum[f] += weight * x[f];
            counts[label] += weight;
            members[label] += weight > 0;
        } else {
            for (int64_t f = 0; f < n_features; ++f) sum[f] += x[f];
            counts[label] += 1;
        }
        if (old < 0) continue;
        sum = sums + old * n_features;
        if (weighted) {
            for (int64_t f = 0; f < n_features; ++f) sum[f] -= weight * x[f];
            counts[old] -= weight;
            members[old] -= weight > 0;
        } else {
            for (int64_t f = 0; f < n_features; ++f) sum[f] -= x[f];
            counts[old] -= 1;
        }
    }
    block->changed = changed;
}

/* One block of a pass (a BlockRunner, see pool.h): its rows' labels, then their changes. */
static void TYPED(run_block)(const void *work, int64_t index) {
    const Job *job = work;
    Block *block = &job->blocks[index];
    int64_t begin, end;
    block_rows(job->points.n_samples, job->n_blocks, index, &begin, &end);
    if (job->hamerly) {
        if (!TYPED(assign_bounded)(job, begin, end, block)) return;
    } else {
        TYPED(assign_all)(job, begin, end);
    }
    if (job->points.weights)
        TYPED(add_changes)(job, begin, end, block, 1);
    else
        TYPED(add_changes)(job, begin, end, block, 0);
}

/* One block's share of the inertia: the sum of w ||x - c[label]||^2, in float64. A label
 * outside [0, n_clusters), or a weight that is not finite and >= 0, is noted in the block,
 * before it is used, and ends the block. `weighted` as in add_changes. */
static inline __attribute__((always_inline)) void TYPED(add_inertia)(const InertiaJob *job, Block *block,
                                                                    const int weighted, int64_t begin, int64_t end) {
    const REAL *samples = job->points.samples, *centroids = job->points.centroids;
    const double *weights = job->points.weights;
    const int64_t n_features = job->points.n_features, n_clusters = job->points.n_clusters;
    double total = 0;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t label = job->labels[row];
        const double weight = weighted ? weights[row] : 1;
        if (weighted && !good_weight(weight)) {
            note_bad_weight(block, row, weight);
            break;
        }
        if ((uint64_t)label >= (uint64_t)n_clusters) {
            note_bad_label(block, row, label, 0);
            break;
        }
        const double distance =
            TYPED(squared_distance)(samples + row * n_features, centroids + label * n_features, n_features);
        total += weighted ? weight * distance : distance;
    }
    block->inertia = total;
}

/* One block's share of the inertia (a BlockRunner): add_inertia over its rows. */
static void TYPED(inertia_block)(const void *work, int64_t index) {
    const InertiaJob *job = work;
    int64_t begin, end;
    block_rows(job->points.n_samples, job->n_blocks, index, &begin, &end);
    if (job->points.weights)
        TYPED(add_inertia)(job, &job->blocks[index], 1, begin, end);
    else
        TYPED(add_inertia)(job, &job->blocks[index], 0, begin, end);
}
