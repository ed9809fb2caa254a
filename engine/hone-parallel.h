/* hone-parallel.h: the engine's thread count and a fork-join parallel loop.
 *
 * One setting governs both the engine's own worker threads and OpenBLAS's,
 * so the two never oversubscribe the cores.  The rule for BLAS: call it
 * from the calling thread, where it runs on OpenBLAS's threads, or inside
 * hone_parallel_for_serial_blas, where OpenBLAS is set to one thread and
 * every worker runs its own single-threaded GEMMs (per-thread GEMMs on
 * independent chunks keep both cores busy where OpenBLAS's threads would
 * spin between many small GEMMs).  Never call BLAS from inside
 * hone_parallel_for. */
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

/* Lower still (nice +10), for helpers such as loader threads that should
 * only take what the training threads leave. */
void hone_thread_background (void);

typedef void (*HoneParallelFunc) (int64_t begin, int64_t end, gpointer user_data);

/* Calls func on contiguous chunks that together cover [0, n), on up to
 * hone_get_num_threads () threads, and returns when all are done.  Chunks
 * are at least min_chunk long.  Nested calls run serially. */
void hone_parallel_for (int64_t n, int64_t min_chunk, HoneParallelFunc func, gpointer user_data);

/* Calls func once for every index in [0, n), each index on one thread,
 * with OpenBLAS set to one thread until all are done, so that func may
 * call BLAS.  For a few (about hone_get_num_threads ()) large independent
 * pieces of work.  Inside another parallel loop it runs serially. */
void hone_parallel_for_serial_blas (int64_t n, HoneParallelFunc func, gpointer user_data);

G_END_DECLS
