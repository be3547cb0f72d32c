// See relay_wait.h.
#include "relay_wait.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

void relay_waiter_init(relay_waiter* w, int efd) {
  w->started = w->quit = 0;
  w->efd = efd;
  w->job = NULL;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
}

static void* waiter_main(void* arg) {
  relay_waiter* w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->job && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
    if (!w->job) break;
    relay_out* o = w->job;
    pthread_mutex_unlock(&w->mu);
    int rc = ipcast_writer_finish(o->w);
    __atomic_store_n(&o->wait_result, rc, __ATOMIC_RELAXED);
    pthread_mutex_lock(&w->mu);
    w->job = NULL;
    __atomic_store_n(&o->waiting, 0, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t n = write(w->efd, &one, sizeof one);
    (void)n;
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int relay_waiter_hand(relay_waiter* w, relay_out* o) {
  pthread_mutex_lock(&w->mu);
  if (w->job) {
    pthread_mutex_unlock(&w->mu);
    return -EBUSY;
  }
  if (!w->started) {
    int r = pthread_create(&w->th, NULL, waiter_main, w);
    if (r != 0) {
      pthread_mutex_unlock(&w->mu);
      return -r;
    }
    w->started = 1;
  }
  __atomic_store_n(&o->waiting, 1, __ATOMIC_RELEASE);
  w->job = o;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

void relay_waiter_stop(relay_waiter* w) {
  pthread_mutex_lock(&w->mu);
  w->quit = 1;
  pthread_cond_signal(&w->cv);
  int started = w->started;
  pthread_mutex_unlock(&w->mu);
  if (started) pthread_join(w->th, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
}
