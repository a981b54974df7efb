/* The thread pool: a call's rows go in blocks, and threads take the next block as they
 * finish one, so that a slow core holds the others up less. Plain C, no TensorFlow. */
#ifndef KMEANS_TF_POOL_H
#define KMEANS_TF_POOL_H

#include <stdint.h>

/* Runs block `block` of the work `job` points to. */
typedef void (*BlockRunner)(const void *job, int64_t block);

/* How many blocks of rows to split `n_samples` rows into, each block with `block_bytes` of
 * its own sums: at least MIN_ROWS_PER_BLOCK rows a block, at most MAX_BLOCKS blocks, and the
 * blocks' sums within BLOCK_SUMS_BUDGET bytes unless every thread needs a block (pool.c). */
int64_t count_blocks(int64_t n_samples, double block_bytes);

/* How many CPUs this process may run on (its affinity), at least 1. */
int64_t usable_cpus(void);

/* Run blocks 0 .. n_blocks - 1 of `job` on up to one thread per usable CPU, the calling
 * thread among them; return when all are done. */
void run_blocks(const void *job, int64_t n_blocks, BlockRunner run);

#endif
