// The parts of Linux's C library that Swift's Glibc module does not expose.
// Header-only: every helper is `static inline`, so there is nothing to compile or link.
#ifndef C_REACTOR_H
#define C_REACTOR_H

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/// errno, readable from Swift without going through Glibc's thread-local accessor.
static inline int creactor_errno(void) { return errno; }

/// `epoll_event` is packed on x86_64; these accessors keep Swift from caring about its layout.
static inline uint32_t creactor_event_events(const struct epoll_event *e) { return e->events; }
static inline uint64_t creactor_event_data(const struct epoll_event *e) { return e->data.u64; }
static inline struct epoll_event creactor_make_event(uint32_t events, uint64_t data) {
    struct epoll_event e;
    e.events = events;
    e.data.u64 = data;
    return e;
}

/// `CPU_SET` is a macro; affinity for benchmarks and tests.
static inline int creactor_pin_thread_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

#endif
