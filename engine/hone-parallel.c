/* hone-parallel.c: one thread-count setting for the engine and OpenBLAS, and
 * a fork-join loop over a persistent pool of pthreads.
 *
 * Workers sleep on a condition variable between loops; a loop hands out
 * fixed chunks through an atomic counter, so the calling thread works too
 * and a loop costs two lock round-trips.  Uses pthreads and C11 atomics only
 * (ThreadSanitizer understands both). */
#include "config.h"

#include <cblas.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hone-parallel.h"

#define MAX_THREADS 256

typedef struct
{
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done;
  pthread_t threads[MAX_THREADS];
  int n_workers;              /* threads besides the caller */
  uint64_t generation;
  int busy;                   /* workers still in the current loop */
  /* current loop */
  HoneParallelFunc func;
  gpointer user_data;
  int64_t n;
  int64_t chunk;
  atomic_int_fast64_t next;
} Pool;

static Pool pool = {
  .lock = PTHREAD_MUTEX_INITIALIZER,
  .wake = PTHREAD_COND_INITIALIZER,
  .done = PTHREAD_COND_INITIALIZER,
};
static atomic_int n_threads = 0;         /* 0: not set yet */
static _Thread_local gboolean in_parallel = FALSE;
static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;

static void
run_chunks (void)
{
  for (;;)
    {
      int64_t begin = atomic_fetch_add (&pool.next, pool.chunk);
      if (begin >= pool.n)
        break;
      int64_t end = MIN (begin + pool.chunk, pool.n);
      pool.func (begin, end, pool.user_data);
    }
}

static void *
worker_main (void *arg)
{
  uint64_t seen = 0;
  in_parallel = TRUE;
  pthread_mutex_lock (&pool.lock);
  for (;;)
    {
      while (pool.generation == seen)
        pthread_cond_wait (&pool.wake, &pool.lock);
      seen = pool.generation;
      pthread_mutex_unlock (&pool.lock);
      run_chunks ();
      pthread_mutex_lock (&pool.lock);
      if (--pool.busy == 0)
        pthread_cond_signal (&pool.done);
    }
  return NULL;
}

static int
default_threads (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return (int) CLAMP (n, 1, MAX_THREADS);
}

void
hone_set_num_threads (int n)
{
  if (n <= 0)
    n = default_threads ();
  n = MIN (n, MAX_THREADS);
  atomic_store (&n_threads, n);
  openblas_set_num_threads (n);
}

int
hone_get_num_threads (void)
{
  int n = atomic_load (&n_threads);
  if (n == 0)
    {
      hone_set_num_threads (0);
      n = atomic_load (&n_threads);
    }
  return n;
}

void
hone_thread_lower_priority (void)
{
  /* Threads created from here on inherit the policy and nice value, so a
   * trainer thread that calls this lowers its workers too, with no shared
   * state to race on. */
#ifdef SCHED_BATCH
  struct sched_param param = { 0 };
  pthread_setschedparam (pthread_self (), SCHED_BATCH, &param);
#endif
  /* On Linux, nice applies to the calling thread. */
  errno = 0;
  int cur = getpriority (PRIO_PROCESS, 0);
  if (errno == 0 && cur < 5)
    setpriority (PRIO_PROCESS, 0, 5);
}

void
hone_thread_background (void)
{
  hone_thread_lower_priority ();
  errno = 0;
  int cur = getpriority (PRIO_PROCESS, 0);
  if (errno == 0 && cur < 10)
    setpriority (PRIO_PROCESS, 0, 10);
}

void
hone_parallel_for (int64_t n, int64_t min_chunk, HoneParallelFunc func, gpointer user_data)
{
  if (n <= 0)
    return;
  int threads = hone_get_num_threads ();
  min_chunk = MAX (min_chunk, 1);
  if (threads <= 1 || in_parallel || n <= min_chunk)
    {
      func (0, n, user_data);
      return;
    }

  /* One loop at a time in the process; a second caller runs serially. */
  if (pthread_mutex_trylock (&loop_lock) != 0)
    {
      func (0, n, user_data);
      return;
    }

  pthread_mutex_lock (&pool.lock);
  while (pool.n_workers < threads - 1)
    {
      if (pthread_create (&pool.threads[pool.n_workers], NULL, worker_main, NULL) != 0)
        break;
      pthread_detach (pool.threads[pool.n_workers]);
      pool.n_workers++;
    }
  int workers = MIN (pool.n_workers, threads - 1);
  /* About 4 chunks per thread balances load without much overhead. */
  int64_t chunk = MAX (min_chunk, (n + (int64_t) (workers + 1) * 4 - 1) / ((int64_t) (workers + 1) * 4));
  pool.func = func;
  pool.user_data = user_data;
  pool.n = n;
  pool.chunk = chunk;
  atomic_store (&pool.next, 0);
  pool.busy = pool.n_workers;
  pool.generation++;
  pthread_cond_broadcast (&pool.wake);
  pthread_mutex_unlock (&pool.lock);

  in_parallel = TRUE;
  run_chunks ();
  in_parallel = FALSE;

  pthread_mutex_lock (&pool.lock);
  while (pool.busy > 0)
    pthread_cond_wait (&pool.done, &pool.lock);
  pthread_mutex_unlock (&pool.lock);
  pthread_mutex_unlock (&loop_lock);
}

void
hone_parallel_for_serial_blas (int64_t n, HoneParallelFunc func, gpointer user_data)
{
  if (n <= 0)
    return;
  int threads = hone_get_num_threads ();
  if (threads <= 1 || in_parallel)
    {
      func (0, n, user_data);
      return;
    }
  /* openblas_set_num_threads only sets the count OpenBLAS's next calls
   * use; its worker threads stay and sleep until it is raised again. */
  openblas_set_num_threads (1);
  hone_parallel_for (n, 1, func, user_data);
  openblas_set_num_threads (threads);
}
