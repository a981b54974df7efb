/* The typed half of pass.c, included there once per element type with REAL (float or
 * double), VEC (a 32-byte SIMD vector of REAL), MASK (the integer vector a comparison of
 * two VECs gives) and TYPED(name) (the name with the type as suffix: TYPED(pack) is
 * pack_float or pack_double). It defines, for T = float and T = double:
 *   LANES_T, PANEL_T, Panels_T, pack_T, load_T, select_T, minimum_T, lanes_min_T,
 *   nearest_rows_T, sparse_dots_T, nearest_sparse_row_T, assign_all_T, squared_distance_T,
 *   row_squared_distance_T, set_bounds_T, measure_rows_T, prefetch_row_T, assign_bounded_T,
 *   value_units_T, row_units_T, add_units_T, add_changes_T, add_row_to_cells_T,
 *   cluster_sums_part_T, run_block_T, add_inertia_T, inertia_block_T
 * (pass.c lists the full names where it includes this file). */

enum { TYPED(LANES) = sizeof(VEC) / sizeof(REAL), TYPED(PANEL) = 2 * sizeof(VEC) / sizeof(REAL) };

/* Centroids in panels of `width` centroids (PANEL, two vectors, for dense rows): panel p
 * holds, feature by feature, centroids p*width .. p*width + width - 1. Padding centroids get
 * +inf half-norms, so they never win. Sparse rows take one panel of every centroid (width:
 * n_clusters rounded up to whole vectors): the centroids transposed, a feature's values in
 * every centroid side by side. With `double_norms` (sparse rows) the half-norms are summed
 * in float64 and rounded once, so that their error does not grow with the features: a
 * sparse row's scores then err by its non-zeros' count, not the width (see the slack). */
typedef struct {
    int64_t count, features, width;
    REAL *values, *half_norms;
} TYPED(Panels);

static int64_t TYPED(panel_values_bytes)(const TYPED(Panels) *panels) {
    return panels->count * panels->features * panels->width * (int64_t)sizeof(REAL);
}

static int64_t TYPED(half_norms_bytes)(const TYPED(Panels) *panels) {
    return panels->count * panels->width * (int64_t)sizeof(REAL);
}

/* Give back the blocks of `panels` (pack; none: nothing). */
static void TYPED(release_panels)(TYPED(Panels) *panels) {
    release(panels->values, TYPED(panel_values_bytes)(panels));
    release(panels->half_norms, TYPED(half_norms_bytes)(panels));
}

static int TYPED(pack)(TYPED(Panels) *panels, const REAL *centroids, int64_t n_clusters, int64_t n_features,
                       int64_t width, int double_norms) {
    const int64_t panel = width;
    panels->count = (n_clusters + panel - 1) / panel;
    panels->features = n_features;
    panels->width = width;
    panels->values = block(TYPED(panel_values_bytes)(panels));
    panels->half_norms = block(TYPED(half_norms_bytes)(panels));
    if (!panels->values || !panels->half_norms) return 0;
    for (int64_t c = 0; c < panels->count * panel; ++c) panels->half_norms[c] = (REAL)INFINITY;
    for (int64_t c = 0; c < n_clusters; ++c) {
        REAL norm = 0;
        double exact_norm = 0;
        for (int64_t f = 0; f < n_features; ++f) {
            const REAL v = centroids[c * n_features + f];
            panels->values[((c / panel) * n_features + f) * panel + c % panel] = v;
            if (double_norms)
                exact_norm += (double)v * v;
            else
                norm += v * v;
        }
        panels->half_norms[c] = double_norms ? (REAL)(exact_norm / 2) : norm / 2;
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

/* Add up the dot products of the sparse non-zeros [begin, end) with n_vectors (a constant
 * after inlining, at most SPARSE_CHUNK) vectors of centroids, from the first of `columns`
 * (the transposed centroids, `width` to a feature), into `dots`: each non-zero adds its value
 * times its feature's centroids, the sums staying in registers. */
static inline __attribute__((always_inline)) void TYPED(sparse_dots)(const SparseRows *rows, int64_t begin,
                                                                    int64_t end, const REAL *columns, int64_t width,
                                                                    const int n_vectors, REAL *dots) {
    enum { lanes = TYPED(LANES) };
    const REAL *values = rows->values;
    VEC sum[SPARSE_CHUNK];
    for (int v = 0; v < n_vectors; ++v) sum[v] = (VEC){0};
    for (int64_t j = begin; j < end; ++j) {
        const REAL x = values[j];
        const REAL *column = columns + rows->columns[j] * width;
        for (int v = 0; v < n_vectors; ++v) sum[v] += x * TYPED(load)(column + v * lanes);
    }
    for (int v = 0; v < n_vectors; ++v) memcpy(dots + v * lanes, &sum[v], sizeof sum[v]);
}

/* nearest_rows for one sparse row, whose non-zeros alone are read: its dot products with
 * every centroid (SPARSE_CHUNK vectors of centroids at a time, then 4, 2 and 1) into `dots`
 * (the transposed centroids' width of entries), then the scores ||c||^2/2 - x.c in centroid
 * order, strict comparisons keeping the earlier of tied ones. The non-zeros add up in
 * increasing columns, as nearest_rows adds every feature, and a zero adds nothing: the
 * scores are those of the row made dense. */
static void TYPED(nearest_sparse_row)(const Job *job, int64_t row, REAL *dots, int64_t *label, const int with_scores,
                                      double *best_score, double *second_score) {
    enum { lanes = TYPED(LANES) };
    const TYPED(Panels) *transposed = job->panels;
    const SparseRows *rows = job->points.sparse;
    const int64_t begin = rows->row_starts[row], end = rows->row_starts[row + 1], width = transposed->width;
    const REAL *columns = transposed->values;
    int64_t c = 0;
    for (; c + SPARSE_CHUNK * lanes <= width; c += SPARSE_CHUNK * lanes)
        TYPED(sparse_dots)(rows, begin, end, columns + c, width, SPARSE_CHUNK, dots + c);
    if (c + 4 * lanes <= width) {
        TYPED(sparse_dots)(rows, begin, end, columns + c, width, 4, dots + c);
        c += 4 * lanes;
    }
    if (c + 2 * lanes <= width) {
        TYPED(sparse_dots)(rows, begin, end, columns + c, width, 2, dots + c);
        c += 2 * lanes;
    }
    if (c < width) TYPED(sparse_dots)(rows, begin, end, columns + c, width, 1, dots + c);
    REAL best = (REAL)INFINITY, second = (REAL)INFINITY;
    int64_t nearest = 0;
    for (c = 0; c < job->points.n_clusters; ++c) {
        const REAL score = transposed->half_norms[c] - dots[c];
        if (score < best) {
            second = best;
            best = score;
            nearest = c;
        } else if (score < second) {
            second = score;
        }
    }
    *label = nearest;
    if (with_scores) {
        *best_score = best;
        *second_score = second;
    }
}

/* The plain pass over rows [begin, end): every row measured against every centroid, a
 * tile of rows at a time (a sparse row at a time, with `dots` for its dot products). */
static void TYPED(assign_all)(const Job *job, int64_t begin, int64_t end, REAL *dots) {
    const TYPED(Panels) *panels = job->panels;
    const REAL *samples = job->points.samples;
    const int64_t n_features = panels->features;
    int64_t row = begin;
    if (job->points.sparse) {
        for (; row < end; ++row) TYPED(nearest_sparse_row)(job, row, dots, job->labels + row, 0, NULL, NULL);
        return;
    }
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

/* ||x - c||^2 in float64, of row `row` of the samples and centroid `label`: a dense row's
 * exactly (squared_distance); a sparse row's as ||c||^2 (`centroid_norms`, float64) plus,
 * over its non-zeros, (x - c)^2 - c^2 = x (x - 2c), reading the non-zeros alone (and at
 * least 0). Its rounding is of the order of the float64 epsilon times ||x||^2 + ||c||^2,
 * which the bounded pass's slack (see set_bounds) covers many times. */
static inline double TYPED(row_squared_distance)(const Points *points, const double *centroid_norms, int64_t row,
                                                 int64_t label) {
    const int64_t n_features = points->n_features;
    const REAL *centroid = (const REAL *)points->centroids + label * n_features;
    if (!points->sparse) return TYPED(squared_distance)((const REAL *)points->samples + row * n_features, centroid, n_features);
    const SparseRows *rows = points->sparse;
    const REAL *values = rows->values;
    double total = centroid_norms[label];
    for (int64_t j = rows->row_starts[row]; j < rows->row_starts[row + 1]; ++j) {
        const double x = values[j], c = centroid[rows->columns[j]];
        total += x * (x - 2 * c);
    }
    return larger(total, 0);
}

/* Whether row `row` keeps `label` though the movers (geometry.h) moved: whether `upper` is at most
 * `others`, a lower bound on its distance to every centroid that is not a mover, and at most
 * its distance to every mover but `label`, each measured (row_squared_distance) less the
 * rounding error of a squared distance. If so, `lower` gets the least of them, the row's new
 * lower bound. Not inlined: it is rare, and the bounds' loop stays as tight as without it. */
static __attribute__((noinline)) int TYPED(movers_keep_label)(const Job *job, int64_t row, int64_t label,
                                                              double upper, double others, double *lower) {
    const Hamerly *hamerly = job->hamerly;
    const CentroidMoves *moves = &hamerly->moves;
    const double error = hamerly->slack * (hamerly->bounds.norms[row] + hamerly->bounds.norm_bound);
    double nearest = others * others; /* squared: one square root at the end */
    for (int m = 0; m < moves->n_movers; ++m) {
        if (moves->movers[m] == label) continue;
        const double squared = TYPED(row_squared_distance)(&job->points, job->centroid_norms, row, moves->movers[m]);
        if (squared - error < nearest) nearest = larger(squared - error, 0);
        if (upper * upper > nearest) return 0;
    }
    *lower = sqrt(nearest);
    return 1;
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
 * kernel: `rows`, or where it is NULL the consecutive rows from `first`. Dense rows are
 * gathered into `scratch` (a tile's rows), unless they are consecutive, so that a full tile
 * shares the tile kernel; sparse rows go one by one, with `scratch` for their dot products. */
static void TYPED(measure_rows)(const Job *job, int64_t first, const int64_t *rows, int count, REAL *scratch) {
    const TYPED(Panels) *panels = job->panels;
    const REAL *samples = job->points.samples;
    const int64_t n_features = panels->features;
    int64_t found[ROWS_PER_TILE];
    double best[ROWS_PER_TILE], second[ROWS_PER_TILE];
    if (job->points.sparse) {
        for (int r = 0; r < count; ++r)
            TYPED(nearest_sparse_row)(job, rows ? rows[r] : first + r, scratch, found + r, 1, best + r, second + r);
    } else {
        const REAL *block = samples + first * n_features;
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
    }
    for (int r = 0; r < count; ++r) TYPED(set_bounds)(job, rows ? rows[r] : first + r, found[r], best[r], second[r]);
}

/* Start fetching row `row` of the samples into the cache (a sparse row: its first
 * non-zeros): a suspect's row is read soon, and, the rows between being skipped, the
 * hardware would not see it coming. */
static inline void TYPED(prefetch_row)(const Points *points, int64_t row) {
    if (points->sparse) {
        const int64_t first = points->sparse->row_starts[row];
        __builtin_prefetch((const REAL *)points->sparse->values + first);
        __builtin_prefetch(points->sparse->columns + first);
        return;
    }
    const int64_t bytes = points->n_features * (int64_t)sizeof(REAL);
    const char *start = (const char *)((const REAL *)points->samples + row * points->n_features);
    for (int64_t byte = 0; byte < bytes; byte += 64) __builtin_prefetch(start + byte);
}

/* The bounded pass over rows [begin, end) (Hamerly 2010), a tile of rows at a time. `upper`
 * bounds sqrt(d_own^2 + 2 error) and `lower` the distance to every other centroid, where
 * d is a true distance and `error` bounds the kernel's rounding of a squared distance. A
 * row keeps its label, unmeasured, when upper <= lower or upper <= half the distance from
 * its centroid to the nearest other one: every other centroid is then farther by more
 * than twice the rounding error, so the plain pass would give the same label. A suspect
 * row first gets its own distance measured exactly. If that does not prove its label and
 * only the few centroids that moved most (the movers, geometry.h) lowered the lower bound
 * below the upper one, its distances to those are measured (movers_keep_label): one
 * centroid that swings then costs its own distances, not every row's bound. A row still
 * unproved is measured against every centroid with the plain pass's kernel. When most of a
 * tile's rows are suspects (early iterations) that the movers cannot clear, the whole tile
 * is measured at once, as in the plain pass. The bounds are checked a window of rows ahead,
 * so that the suspects' rows are on their way into the cache by the time they are measured. The rows whose label the
 * bounds proved (without measuring every centroid) are counted in block->skipped.
 * A row with a finite upper bound must have a label in [0, n_clusters) (a row with no
 * label yet, -1, comes with an infinite one); on the first that does not, the pass notes
 * it in `block` and returns 0 before using it. */
static int TYPED(assign_bounded)(const Job *job, int64_t begin, int64_t end, Block *block) {
    enum { WINDOW = 8 * ROWS_PER_TILE }; /* rows, whole tiles */
    const Hamerly *hamerly = job->hamerly;
    const CentroidMoves *moves = &hamerly->moves;
    const int64_t n_clusters = job->points.n_clusters;
    REAL *scratch = block->scratch;
    int64_t pending[ROWS_PER_TILE] = {0}, skipped = 0;
    int n_pending = 0;
    for (int64_t start = begin; start < end; start += WINDOW) {
        const int in_window = end - start < WINDOW ? (int)(end - start) : WINDOW;
        double upper[WINDOW], lower[WINDOW], bound[WINDOW];
        int suspect[WINDOW], by_movers[WINDOW];
        for (int r = 0; r < in_window; ++r) {
            const int64_t row = start + r, label = job->old_labels[row];
            upper[r] = hamerly->bounds.upper[row];
            suspect[r] = !isfinite(upper[r]);
            by_movers[r] = 0;
            if (!suspect[r]) {
                if ((uint64_t)label >= (uint64_t)n_clusters) return note_bad_label(block, row, label, 0);
                upper[r] += moves->moves[label];
                lower[r] = hamerly->bounds.lower[row] -
                           (label == moves->farthest_mover ? moves->second_move : moves->max_move);
                bound[r] = larger(hamerly->half_gaps[label], lower[r]);
                suspect[r] = upper[r] > bound[r];
                /* Only the movers' moves stand in the way: the row's distances to them may prove its label. */
                by_movers[r] = suspect[r] && moves->n_movers &&
                               upper[r] <= hamerly->bounds.lower[row] - moves->rest_move;
            }
            if (suspect[r]) TYPED(prefetch_row)(&job->points, row);
        }
        for (int tile = 0; tile < in_window; tile += ROWS_PER_TILE) {
            const int64_t first = start + tile;
            const int count = in_window - tile < ROWS_PER_TILE ? in_window - tile : ROWS_PER_TILE;
            int n_suspects = 0;
            for (int r = tile; r < tile + count; ++r) n_suspects += suspect[r] && !by_movers[r];
            if (count == ROWS_PER_TILE && n_suspects >= SUSPECTS_FOR_A_WHOLE_TILE) {
                TYPED(measure_rows)(job, first, NULL, ROWS_PER_TILE, scratch);
                continue;
            }
            for (int r = tile; r < tile + count; ++r) {
                const int64_t row = start + r, label = job->old_labels[row];
                if (suspect[r] && isfinite(upper[r])) { /* a finite bound: the label was checked above */
                    const double squared_upper =
                        TYPED(row_squared_distance)(&job->points, job->centroid_norms, row, label) +
                        2 * hamerly->slack * (hamerly->bounds.norms[row] + hamerly->bounds.norm_bound);
                    suspect[r] = squared_upper > bound[r] * bound[r]; /* bound >= 0: no square root for a suspect */
                    if (!suspect[r] || by_movers[r]) {
                        const double tight = sqrt(squared_upper);
                        if (suspect[r])
                            suspect[r] = !TYPED(movers_keep_label)(
                                job, row, label, tight, hamerly->bounds.lower[row] - moves->rest_move, &lower[r]);
                        if (!suspect[r]) upper[r] = tight;
                    }
                }
                if (!suspect[r]) {
                    ++skipped;
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
    block->skipped = skipped;
    return 1;
}

/* The units of `value` times `weight` in a column of factors `first` and `second` (Points.factors):
 * rounded to a whole number (whole_units). `weighted` is a constant where this is inlined:
 * without it the weight is 1 and not multiplied. The running sums of dense rows (row_units)
 * and the clusters' whole sums (add_row_to_cells) share this arithmetic. */
static inline __attribute__((always_inline)) int64_t TYPED(value_units)(REAL value, double weight, double first,
                                                                       double second, const int weighted) {
    const double term = weighted ? (double)value * weight : (double)value;
    return whole_units(term * first * second);
}

/* Write the units of weight x dense row `row` of the samples into `units` (one per feature,
 * value_units), in a loop the compiler vectorizes. Returns whether a value is not finite (a
 * NaN or an infinity has no whole number of units: the pass then gives NaN sums), read from
 * its exponent bits so that the check vectorizes too. */
static inline __attribute__((always_inline)) int TYPED(row_units)(const Points *points, int64_t row, double weight,
                                                                 int64_t *restrict units, const int weighted) {
    const double *restrict first = points->factors, *restrict second = points->factors + points->n_features + 1;
    const REAL *restrict values = (const REAL *)points->samples + row * points->n_features;
    int bad = 0;
    for (int64_t f = 0; f < points->n_features; ++f)
        units[f] = TYPED(value_units)(values[f], weight, first[f], second[f], weighted);
    for (int64_t f = 0; f < points->n_features; ++f) bad |= TYPED(not_finite)(values[f]);
    return bad;
}

/* Add a dense row's `units` (row_units) to a cluster's 64-bit running sums `sum`, or take
 * them (`take`, a constant where this is inlined). */
static inline __attribute__((always_inline)) void TYPED(add_units)(const Points *points, const int64_t *restrict units,
                                                                  const int take, int64_t *restrict sum) {
    for (int64_t f = 0; f < points->n_features; ++f) sum[f] += take ? -units[f] : units[f];
}

/* Add the rows [begin, end) whose label changed to their new cluster's exact sum and count
 * in `block`, and take them from their old one (a label of -1: none yet; no old_labels:
 * every row is new, and the sums are of all rows); count them in block->changed. Summing
 * changes, not every row, spares the bounded pass a sweep over the data; the plain pass
 * sums the same changes, so both give the same sums. A row's units go into 64-bit running
 * sums, which move into the pass's output limbs (flush_cluster) before they could overflow.
 * An old label outside [-1, n_clusters) is noted in `block`, before it is used, and ends
 * the block (an old label equal to the new one is in range: the pass gave it). `weighted`
 * is a constant where this is inlined (run_block): with it, a row adds its weight times its
 * values, its weight to the count and 1 to the members when the weight is > 0, and every
 * row's weight is checked (finite, >= 0) as the row is read: a bad one is noted in `block`
 * and ends the block. Without it, the loop is the unweighted one, with no test per row. */
static inline __attribute__((always_inline)) void TYPED(add_changes)(const Job *job, int64_t begin, int64_t end,
                                                                    Block *block, const int weighted) {
    const double *weights = job->points.weights;
    const int64_t n_features = job->points.n_features, n_clusters = job->points.n_clusters;
    const int64_t *labels = job->labels, *old_labels = job->old_labels;
    const double *factors = job->points.factors;
    const double count_first = factors[n_features], count_second = factors[2 * n_features + 1];
    const int64_t count_units = llrint(count_first * count_second);
    double *members = block->members;
    const int sums = block->running_sums != NULL; /* sparse rows' sums come after the labels (cluster_sums) */
    int64_t changed = 0;
    int bad = 0;
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
        const int64_t units = weighted ? llrint(weight * count_first * count_second) : count_units;
        const double member = weighted ? weight > 0 : 1;
        if (sums) {
            bad |= TYPED(row_units)(&job->points, row, weight, block->units, weighted);
            TYPED(add_units)(&job->points, block->units, 0, block->running_sums + label * n_features);
        }
        block->running_counts[label] += units;
        members[label] += member;
        if (++block->pending[label] == FLUSH_EVERY) flush_cluster(block, label, n_clusters, n_features);
        if (old < 0) continue;
        if (sums) TYPED(add_units)(&job->points, block->units, 1, block->running_sums + old * n_features);
        block->running_counts[old] -= units;
        members[old] -= member;
        if (++block->pending[old] == FLUSH_EVERY) flush_cluster(block, old, n_clusters, n_features);
    }
    flush_cluster(block, -1, n_clusters, n_features);
    block->changed = changed;
    block->not_finite = bad;
}

/* Add the units of weight x row `row` (dense or sparse; value_units) to a cluster's cells,
 * two 64-bit sums per feature (cells_to_limbs, limbs.h); return whether a value is NaN or
 * infinite. `same_factors` (a constant where this is inlined): every column has column 0's
 * factors (sparse rows' usually have: prepare gives them one bound), which a sparse row then
 * need not read per non-zero. */
static inline __attribute__((always_inline)) int TYPED(add_row_to_cells)(const Points *points, int64_t row,
                                                                        int64_t *restrict cells,
                                                                        const int same_factors) {
    const double *first = points->factors, *second = points->factors + points->n_features + 1;
    const double weight = points->weights ? points->weights[row] : 1;
    int bad = 0;
    if (points->sparse) {
        const SparseRows *rows = points->sparse;
        const REAL *values = rows->values;
        for (int64_t j = rows->row_starts[row]; j < rows->row_starts[row + 1]; ++j) {
            const int64_t column = rows->columns[j];
            const double column_first = same_factors ? first[0] : first[column];
            const double column_second = same_factors ? second[0] : second[column];
            add_to_cells(TYPED(value_units)(values[j], weight, column_first, column_second, 1), cells + 2 * column);
            bad |= TYPED(not_finite)(values[j]);
        }
    } else {
        const REAL *values = (const REAL *)points->samples + row * points->n_features;
        for (int64_t f = 0; f < points->n_features; ++f) {
            add_to_cells(TYPED(value_units)(values[f], weight, first[f], second[f], 1), cells + 2 * f);
            bad |= TYPED(not_finite)(values[f]);
        }
    }
    return bad;
}

/* Part `index` of cluster_sums (a BlockRunner, see pool.h): its clusters, one at a time. A
 * cluster's rows add up in the part's cells of one row's size (add_row_to_cells), which stay
 * in cache; they then give the cluster's exact sums' limbs, and those their values
 * (limbs_value) where the job wants values, or those over the cluster's divisor where it
 * wants means. The rows come in cluster order, scattered: each is asked for a few rows
 * ahead. The labels and weights were checked as the rows were grouped. A value that is NaN
 * or infinite is noted in job->not_finite. */
static void TYPED(cluster_sums_part)(const void *work, int64_t index) {
    const ClusterSumsJob *job = work;
    const Points *points = job->points;
    const int64_t n_features = points->n_features;
    const double *first = points->factors, *second = points->factors + n_features + 1;
    int64_t *cells = job->cells + index * n_features * 2;
    int bad = 0;
    for (int64_t c = job->part_starts[index]; c < job->part_starts[index + 1]; ++c) {
        memset(cells, 0, n_features * 2 * sizeof(int64_t));
        const int64_t end = job->cluster_starts[c + 1];
        for (int64_t i = job->cluster_starts[c]; i < end; ++i) {
            if (i + ROW_STARTS_AHEAD < end) prefetch_row_start(points, job->rows[i + ROW_STARTS_AHEAD]);
            if (i + ROWS_AHEAD < end) TYPED(prefetch_row)(points, job->rows[i + ROWS_AHEAD]);
            if (job->same_factors)
                bad |= TYPED(add_row_to_cells)(points, job->rows[i], cells, 1);
            else
                bad |= TYPED(add_row_to_cells)(points, job->rows[i], cells, 0);
        }
        const ClusterOutput *out = &job->out;
        for (int64_t f = 0; f < n_features; ++f) {
            double limbs[LIMBS];
            cells_to_limbs(cells + 2 * f, limbs);
            if (out->limbs)
                memcpy(out->limbs + (c * n_features + f) * LIMBS, limbs, sizeof limbs);
            else if (out->values)
                out->values[c * n_features + f] = limbs_value(limbs, first[f], second[f]);
            else /* as TensorFlow's float64 division and cast do it: the same bits */
                ((REAL *)out->means)[c * n_features + f] =
                    (REAL)(limbs_value(limbs, first[f], second[f]) / out->divisors[c]);
        }
    }
    job->not_finite[index] = bad;
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
        TYPED(assign_all)(job, begin, end, block->scratch);
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
    const double *weights = job->points.weights;
    const int64_t n_clusters = job->points.n_clusters;
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
        const double distance = TYPED(row_squared_distance)(&job->points, job->centroid_norms, row, label);
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
