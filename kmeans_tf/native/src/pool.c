/* The thread pool and its block queue (see pool.h). Each block sums its own rows and the
 * caller adds the blocks up in block order, so the answer is the same however they ran. */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>

enum { MIN_ROWS_PER_BLOCK = 2048, MAX_BLOCKS = 32, MAX_THREADS = 64 };
#define BLOCK_SUMS_BUDGET (64.0 * 1024 * 1024)

int64_t usable_cpus(void) {
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
    return CPU_COUNT(&cpus);
}

int64_t count_blocks(int64_t n_samples, double block_bytes) {
    int64_t blocks = n_samples / MIN_ROWS_PER_BLOCK;
    if (blocks > MAX_BLOCKS) blocks = MAX_BLOCKS;
    int64_t affordable = (int64_t)(BLOCK_SUMS_BUDGET / block_bytes), cpus = usable_cpus();
    if (affordable < cpus) affordable = cpus;
    if (blocks > affordable) blocks = affordable;
    return blocks < 1 ? 1 : blocks;
}

/* The blocks left to run: threads take the next one with an atomic add. */
typedef struct {
    const void *job;
    int64_t n_blocks, next_block;
    BlockRunner run;
} BlockQueue;

static void *take_blocks(void *argument) {
    BlockQueue *queue = argument;
    for (;;) {
        const int64_t block = __atomic_fetch_add(&queue->next_block, 1, __ATOMIC_RELAXED);
        if (block >= queue->n_blocks) return NULL;
        queue->run(queue->job, block);
    }
}

void run_blocks(const void *job, int64_t n_blocks, BlockRunner run) {
    pthread_t threads[MAX_THREADS];
    BlockQueue queue = {job, n_blocks, 0, run};
    int64_t n_threads = usable_cpus();
    if (n_threads > n_blocks) n_threads = n_blocks;
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    int64_t started = 1;
    while (started < n_threads && pthread_create(&threads[started], NULL, take_blocks, &queue) == 0) ++started;
    take_blocks(&queue);
    for (int64_t t = 1; t < started; ++t) pthread_join(threads[t], NULL);
}
