/* hone-parallel.h: the engine's thread count and a fork-join parallel loop.
 *
 * One setting governs both the engine's own worker threads and OpenBLAS's,
 * so the two never oversubscribe the cores: BLAS is called only from the
 * calling thread, never from inside hone_parallel_for. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Sets how many threads the engine and OpenBLAS use (0: one per core). */
void hone_set_num_threads (int n);
int  hone_get_num_threads (void);

/* Lowers the scheduling priority of the calling thread (SCHED_BATCH and
 * nice +5 where allowed) so that a UI thread stays responsive.  Threads it
 * creates afterwards (the engine's workers, loader threads) inherit it. */
void hone_thread_lower_priority (void);

typedef void (*HoneParallelFunc) (int64_t begin, int64_t end, gpointer user_data);

/* Calls func on contiguous chunks that together cover [0, n), on up to
 * hone_get_num_threads () threads, and returns when all are done.  Chunks
 * are at least min_chunk long.  Nested calls run serially. */
void hone_parallel_for (int64_t n, int64_t min_chunk, HoneParallelFunc func, gpointer user_data);

G_END_DECLS
