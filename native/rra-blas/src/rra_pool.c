/*
 * rra_pool: helper threads for the fused kernels (see rra_pool.h). Helpers start on first use and live
 * for the process. A helper that finishes a part spins for a short while before it sleeps on a condition
 * variable, since a model's forward pass posts jobs every few tens of microseconds.
 */
#include "rra_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t posted = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static atomic_flag busy = ATOMIC_FLAG_INIT;
static atomic_ulong generation;
static atomic_int left;
static int helpers; /* started so far; only the thread holding `busy` changes it */
static pool_fn job_fn;
static void *job_ctx;
static int job_parts;
static atomic_int threads = 1; /* pool_set_threads; the addon sets it with OpenBLAS's count */
static atomic_ulong split_jobs; /* jobs run in more than one part on more than one thread (for tests) */
static unsigned long start_generation[RRA_POOL_MAX]; /* each helper's first `seen`: the generation before its first job */

/* How long a helper (and the caller, waiting for the helpers) spins before sleeping, in microseconds:
 * RRA_POOL_SPIN_US, default 200. The spin yields the core (sched_yield), as OpenBLAS's own threads do while
 * they wait: spinning with pause instructions instead took the second core from OpenBLAS's GEMM threads
 * (BERT-L4-H256 8x128 inference: 118 pairs/s with no spin, 128 yielding 200 us, 113 on one thread; small
 * 32x64 ~3% over one thread; 1 ms of pause-spinning made small 30% slower than one thread). */
static long spin_ns = -1;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static long spin_limit(void) {
  if (spin_ns < 0) {
    const char *e = getenv("RRA_POOL_SPIN_US");
    long us = e && *e ? atol(e) : 200;
    spin_ns = (us < 0 ? 0 : us) * 1000L;
  }
  return spin_ns;
}

static void *helper_main(void *arg) {
  const int id = (int)(intptr_t)arg;
  unsigned long seen = start_generation[id];
  for (;;) {
    unsigned long g;
    const long until = now_ns() + spin_limit();
    for (int i = 0; (g = atomic_load(&generation)) == seen; i++) {
      if ((i & 7) == 7 && now_ns() > until) break;
      sched_yield();
    }
    if (g == seen) {
      pthread_mutex_lock(&mu);
      while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&posted, &mu);
      pthread_mutex_unlock(&mu);
    }
    seen = g;
    if (id < job_parts) job_fn(job_ctx, id, job_parts);
    if (atomic_fetch_sub(&left, 1) == 1) {
      pthread_mutex_lock(&mu);
      pthread_cond_signal(&finished);
      pthread_mutex_unlock(&mu);
    }
  }
  return NULL;
}

void pool_set_threads(int n) { atomic_store(&threads, n < 1 ? 1 : (n > RRA_POOL_MAX ? RRA_POOL_MAX : n)); }
int pool_threads(void) { return atomic_load(&threads); }

int pool_parts(double work, double min_work) {
  return work < min_work ? 1 : atomic_load(&threads);
}

void pool_run(pool_fn fn, void *ctx, int parts) {
  spin_limit(); /* read the setting on the caller's thread, before any helper runs */
  if (parts <= 1 || atomic_flag_test_and_set(&busy)) {
    for (int p = 0; p < (parts < 1 ? 1 : parts); p++) fn(ctx, p, parts < 1 ? 1 : parts);
    return;
  }
  while (helpers < parts - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    start_generation[helpers + 1] = atomic_load(&generation);
    int ok = pthread_create(&t, &attr, helper_main, (void *)(intptr_t)(helpers + 1)) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    helpers++;
  }
  atomic_fetch_add(&split_jobs, 1);
  const int run_parts = parts; /* helpers beyond the parts skip; parts beyond the helpers run here */
  job_fn = fn;
  job_ctx = ctx;
  job_parts = run_parts;
  atomic_store(&left, helpers);
  pthread_mutex_lock(&mu);
  atomic_fetch_add(&generation, 1);
  pthread_cond_broadcast(&posted);
  pthread_mutex_unlock(&mu);
  fn(ctx, 0, run_parts);
  for (int p = helpers + 1; p < run_parts; p++) fn(ctx, p, run_parts); /* when a helper could not start */
  const long until = now_ns() + spin_limit();
  for (int i = 0; atomic_load(&left) > 0; i++) {
    if ((i & 7) == 7 && now_ns() > until) break;
    sched_yield();
  }
  if (atomic_load(&left) > 0) {
    pthread_mutex_lock(&mu);
    while (atomic_load(&left) > 0) pthread_cond_wait(&finished, &mu);
    pthread_mutex_unlock(&mu);
  }
  atomic_flag_clear(&busy);
}

unsigned long pool_split_jobs(void) { return atomic_load(&split_jobs); }
int pool_helpers(void) { return helpers; }
