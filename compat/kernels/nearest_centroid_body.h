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

/* Labels for n_rows (a constant after inlining) consecutive samples. For each panel the
 * n_rows x PANEL dot products add up in registers over the features; then each lane keeps
 * its smallest ||c||^2/2 - x.c so far and that centroid's index. */
static inline __attribute__((always_inline)) void TYPED(nearest_rows)(
        const REAL *rows, const int n_rows, const TYPED(Panels) *panels, int64_t *labels) {
    enum { lanes = TYPED(LANES), panel_size = TYPED(PANEL) };
    const int64_t n_features = panels->features;
    VEC best[6][2], best_index[6][2], lane_index[2];
    for (int l = 0; l < lanes; ++l) {
        lane_index[0][l] = (REAL)l;
        lane_index[1][l] = (REAL)(l + lanes);
    }
    for (int r = 0; r < n_rows; ++r) {
        for (int h = 0; h < 2; ++h) {
            best[r][h] = (VEC){0} + (REAL)INFINITY;
            best_index[r][h] = (VEC){0};
        }
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
        for (int h = 0; h < 2; ++h) {
            const VEC half_norm = TYPED(load)(panels->half_norms + p * panel_size + h * lanes);
            const VEC index = lane_index[h] + (REAL)(p * panel_size);
            for (int r = 0; r < n_rows; ++r) {
                const VEC score = half_norm - dot[r][h];
                const MASK better = score < best[r][h]; /* strict: the earlier centroid keeps a tie */
                best[r][h] = TYPED(select)(better, score, best[r][h]);
                best_index[r][h] = TYPED(select)(better, index, best_index[r][h]);
            }
        }
    }
    /* Across lanes: the smallest score, and on a tie the smallest index (as argmin does). */
    for (int r = 0; r < n_rows; ++r) {
        REAL score = best[r][0][0], index = best_index[r][0][0];
        for (int h = 0; h < 2; ++h) {
            for (int l = 0; l < lanes; ++l) {
                const REAL s = best[r][h][l], i = best_index[r][h][l];
                if (s < score || (s == score && i < index)) {
                    score = s;
                    index = i;
                }
            }
        }
        labels[r] = (int64_t)index;
    }
}

/* Rows [begin, end): their labels, added to their cluster's float64 sum and count. */
static void TYPED(assign_and_sum)(const REAL *samples, int64_t begin, int64_t end, const TYPED(Panels) *panels,
                                  int64_t *labels, double *sums, double *counts) {
    const int64_t n_features = panels->features;
    int64_t row = begin;
    for (; row + 6 <= end; row += 6) TYPED(nearest_rows)(samples + row * n_features, 6, panels, labels + row);
    for (; row < end; ++row) TYPED(nearest_rows)(samples + row * n_features, 1, panels, labels + row);
    for (row = begin; row < end; ++row) {
        double *sum = sums + labels[row] * n_features;
        const REAL *x = samples + row * n_features;
        for (int64_t f = 0; f < n_features; ++f) sum[f] += x[f];
        counts[labels[row]] += 1;
    }
}

static void TYPED(run_block)(const Job *job, int64_t block) {
    const TYPED(Panels) *panels = job->panels;
    const int64_t begin = job->n_samples * block / job->n_blocks, end = job->n_samples * (block + 1) / job->n_blocks;
    TYPED(assign_and_sum)((const REAL *)job->samples, begin, end, panels, job->labels,
                          job->block_sums + block * job->n_clusters * job->n_features,
                          job->block_counts + block * job->n_clusters);
}
