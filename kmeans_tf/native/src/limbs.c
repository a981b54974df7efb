/* Exact sums' limbs added up (see limbs.h). */
#include "limbs.h"

#include "pool.h"

/* Cells a range takes at least: fewer are not worth a thread. */
enum { MIN_CELLS_PER_RANGE = 1 << 16, MAX_RANGES = 64 };

typedef struct {
    const double *a, *b, *first, *second;
    int64_t n_cells, n_columns, n_ranges;
    double *total, *values;
} AddJob;

/* Range `index` of the cells (a BlockRunner, see pool.h). */
static void add_range(const void *work, int64_t index) {
    const AddJob *job = work;
    const int64_t begin = job->n_cells * index / job->n_ranges, end = job->n_cells * (index + 1) / job->n_ranges;
    for (int64_t cell = begin; cell < end; ++cell) {
        double limbs[LIMBS];
        for (int l = 0; l < LIMBS; ++l) limbs[l] = job->a[cell * LIMBS + l] + job->b[cell * LIMBS + l];
        normalize_limbs(limbs);
        for (int l = 0; l < LIMBS; ++l) job->total[cell * LIMBS + l] = limbs[l];
        const int64_t column = cell % job->n_columns;
        job->values[cell] = limbs_value(limbs, job->first[column], job->second[column]);
    }
}

void add_limbs(const double *a, const double *b, const double *first, const double *second, int64_t n_cells,
               int64_t n_columns, double *total, double *values) {
    int64_t n_ranges = n_cells / MIN_CELLS_PER_RANGE;
    if (n_ranges > usable_cpus()) n_ranges = usable_cpus();
    if (n_ranges > MAX_RANGES) n_ranges = MAX_RANGES;
    if (n_ranges < 1) n_ranges = 1;
    AddJob job = {a, b, first, second, n_cells, n_columns, n_ranges, total, values};
    run_blocks(&job, n_ranges, add_range);
}
