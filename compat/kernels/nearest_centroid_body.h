/* The typed half of nearest_centroid.c, included once per element type with
 * REAL (float or double), VEC (a 32-byte SIMD vector of REAL), MASK (the integer
 * vector a comparison of two VECs gives) and TYPED(name) (the name with a suffix). */

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
    panels->values = aligned_alloc(64, round_up(panels->count * n_features * panel * sizeof(REAL), 64));
    panels->half_norms = aligned_alloc(64, round_up(panels->count * panel * sizeof(REAL), 64));
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

/* Labels for n_rows (a constant after inlining) consecutive samples. For each panel the
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
    VEC best[6], best_index[6], second[6], lane_offset[2];
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
        VEC dot[6][2];
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

/* The plain pass over rows [begin, end): every row measured against every centroid. */
static void TYPED(assign_all)(const Job *job, int64_t begin, int64_t end) {
    const TYPED(Panels) *panels = job->panels;
    const REAL *samples = job->samples;
    const int64_t n_features = panels->features;
    int64_t row = begin;
    for (; row + 6 <= end; row += 6)
        TYPED(nearest_rows)(samples + row * n_features, 6, panels, job->labels + row, 0, NULL, NULL);
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
    const double norm = job->norms[row];
    const double error = job->slack * (norm + job->norm_bound);
    job->labels[row] = label;
    job->upper[row] = sqrt(larger(norm + 2 * best + error, 0) + 2 * error);
    job->lower[row] = sqrt(larger(norm + 2 * second - error, 0));
}

/* Measure `count` (up to 6) rows against every centroid with the plain pass's kernel. The
 * rows are gathered into `scratch`, unless they are consecutive (`rows` is NULL: `first`
 * and the 5 after it), so that they share the 6-row kernel. */
static void TYPED(measure_rows)(const Job *job, int64_t first, const int64_t *rows, int count, REAL *scratch) {
    const TYPED(Panels) *panels = job->panels;
    const int64_t n_features = panels->features;
    const REAL *block = (const REAL *)job->samples + first * n_features;
    int64_t found[6];
    double best[6], second[6];
    if (rows) {
        for (int r = 0; r < count; ++r)
            memcpy(scratch + r * n_features, (const REAL *)job->samples + rows[r] * n_features, n_features * sizeof(REAL));
        block = scratch;
    }
    if (count == 6) {
        TYPED(nearest_rows)(block, 6, panels, found, 1, best, second);
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

/* The bounded pass over rows [begin, end) (Hamerly 2010), six rows at a time. `upper`
 * bounds sqrt(d_own^2 + 2 error) and `lower` the distance to every other centroid, where
 * d is a true distance and `error` bounds the kernel's rounding of a squared distance. A
 * row keeps its label, unmeasured, when upper <= lower or upper <= half the distance from
 * its centroid to the nearest other one: every other centroid is then farther by more
 * than twice the rounding error, so the plain pass would give the same label. A suspect
 * row first gets its own distance measured exactly; if that does not prove its label, it
 * is measured against every centroid with the plain pass's kernel. When most of six rows
 * are suspects (early iterations), all six are measured at once, as in the plain pass.
 * The bounds are checked a window of rows ahead, so that the suspects' rows are on their
 * way into the cache by the time they are measured. */
static void TYPED(assign_bounded)(const Job *job, int64_t begin, int64_t end) {
    enum { WINDOW = 48 }; /* rows, a multiple of 6 */
    const REAL *samples = job->samples, *centroids = job->centroids;
    const int64_t n_features = job->n_features;
    REAL *scratch = aligned_alloc(64, round_up(6 * n_features * sizeof(REAL), 64));
    int64_t pending[6] = {0};
    int n_pending = 0;
    for (int64_t start = begin; start < end; start += WINDOW) {
        const int in_window = end - start < WINDOW ? (int)(end - start) : WINDOW;
        double upper[WINDOW], lower[WINDOW], bound[WINDOW];
        int suspect[WINDOW];
        for (int r = 0; r < in_window; ++r) {
            const int64_t row = start + r, label = job->old_labels[row];
            upper[r] = job->old_upper[row];
            suspect[r] = !isfinite(upper[r]);
            if (!suspect[r]) {
                upper[r] += job->moves[label];
                lower[r] = job->old_lower[row] - (label == job->farthest_mover ? job->second_move : job->max_move);
                bound[r] = larger(job->half_gaps[label], lower[r]);
                suspect[r] = upper[r] > bound[r];
            }
            if (suspect[r]) TYPED(prefetch_row)(samples + row * n_features, n_features);
        }
        for (int block = 0; block < in_window; block += 6) {
            const int64_t first = start + block;
            const int count = in_window - block < 6 ? in_window - block : 6;
            int n_suspects = 0;
            for (int r = block; r < block + count; ++r) n_suspects += suspect[r];
            if (count == 6 && n_suspects >= 4) {
                TYPED(measure_rows)(job, first, NULL, 6, scratch);
                continue;
            }
            for (int r = block; r < block + count; ++r) {
                const int64_t row = start + r, label = job->old_labels[row];
                if (suspect[r] && isfinite(upper[r])) {
                    const REAL *x = samples + row * n_features, *own = centroids + label * n_features;
                    const double squared_upper = TYPED(squared_distance)(x, own, n_features) +
                                                 2 * job->slack * (job->norms[row] + job->norm_bound);
                    suspect[r] = squared_upper > bound[r] * bound[r]; /* bound >= 0: no square root for a suspect */
                    if (!suspect[r]) upper[r] = sqrt(squared_upper);
                }
                if (!suspect[r]) {
                    job->labels[row] = label;
                    job->upper[row] = upper[r];
                    job->lower[row] = lower[r];
                    continue;
                }
                pending[n_pending++] = row;
                if (n_pending == 6) {
                    TYPED(measure_rows)(job, 0, pending, 6, scratch);
                    n_pending = 0;
                }
            }
        }
    }
    TYPED(measure_rows)(job, 0, pending, n_pending, scratch);
    free(scratch);
}

/* Add the rows [begin, end) whose label changed to their new cluster's float64 sum and
 * count, and take them from their old one (a label of -1: none yet; no old_labels: every
 * row is new, and the sums are of all rows), in row order; return how many changed.
 * Summing changes, not every row, spares the bounded pass a sweep over the data; the
 * plain pass sums the same changes, so both give the same sums. */
static int64_t TYPED(add_changes)(const REAL *samples, int64_t begin, int64_t end, int64_t n_features,
                                  const int64_t *labels, const int64_t *old_labels, double *sums, double *counts) {
    int64_t changed = 0;
    for (int64_t row = begin; row < end; ++row) {
        const int64_t label = labels[row], old = old_labels ? old_labels[row] : -1;
        if (label == old) continue;
        ++changed;
        const REAL *x = samples + row * n_features;
        double *sum = sums + label * n_features;
        for (int64_t f = 0; f < n_features; ++f) sum[f] += x[f];
        counts[label] += 1;
        if (old < 0) continue;
        sum = sums + old * n_features;
        for (int64_t f = 0; f < n_features; ++f) sum[f] -= x[f];
        counts[old] -= 1;
    }
    return changed;
}

static void TYPED(run_block)(const Job *job, int64_t block) {
    const int64_t begin = job->n_samples * block / job->n_blocks, end = job->n_samples * (block + 1) / job->n_blocks;
    double *sums = job->block_sums + block * job->n_clusters * job->n_features;
    double *counts = job->block_counts + block * job->n_clusters;
    if (job->bounded) {
        TYPED(assign_bounded)(job, begin, end);
    } else {
        TYPED(assign_all)(job, begin, end);
    }
    job->block_changed[block] = TYPED(add_changes)(job->samples, begin, end, job->n_features, job->labels,
                                                   job->old_labels, sums, counts);
}

/* Block `block`'s share of the inertia: the sum of ||x - c[label]||^2, in float64. */
static void TYPED(inertia_block)(const Job *job, int64_t block) {
    const int64_t begin = job->n_samples * block / job->n_blocks, end = job->n_samples * (block + 1) / job->n_blocks;
    const REAL *samples = job->samples, *centroids = job->centroids;
    double total = 0;
    for (int64_t row = begin; row < end; ++row) {
        total += TYPED(squared_distance)(samples + row * job->n_features,
                                         centroids + job->labels[row] * job->n_features, job->n_features);
    }
    job->block_sums[block] = total;
}
