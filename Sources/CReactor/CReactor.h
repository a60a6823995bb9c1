// The parts of Linux's C library that Swift's Glibc module does not expose.
// Header-only: every helper is `static inline`, so there is nothing to compile or link.
#ifndef C_REACTOR_H
#define C_REACTOR_H

// No _GNU_SOURCE here: these headers are also compiled into Swift's Glibc module without it, and
// clang rejects the two modules' differing definitions (fd_set, __rusage_who, the sockaddr
// transparent union) as soon as both are imported. The few GNU functions are declared below.
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
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

/// Affinity for benchmarks and tests. cpu_set_t and CPU_SET need _GNU_SOURCE, so this builds the mask
/// itself and makes the system call directly (0 = the calling thread).
static inline int creactor_pin_thread_to_cpu(int cpu) {
    unsigned long mask[1024 / (8 * sizeof(unsigned long))];
    const int bits = (int)(8 * sizeof(unsigned long));
    if (cpu < 0 || cpu >= 1024) { errno = EINVAL; return -1; }
    memset(mask, 0, sizeof(mask));
    mask[cpu / bits] |= 1UL << (cpu % bits);
    return (int)syscall(SYS_sched_setaffinity, 0, sizeof(mask), mask);
}

/// GNU extension (declared by <sys/socket.h> only under _GNU_SOURCE).
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// open(2) is variadic, which Swift cannot call.
/// fcntl(2) is variadic too.
static inline int creactor_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static inline int creactor_get_status_flags(int fd) { return fcntl(fd, F_GETFL); }

static inline int creactor_open_readonly(const char *path) { return open(path, O_RDONLY | O_CLOEXEC); }

/// The XSI strerror_r, by its glibc symbol: which variant <string.h> declares depends on feature macros
/// that may already have been fixed when Glibc's module was built. Fills `buf`; returns 0 or an errno.
extern int __xpg_strerror_r(int err, char *buf, size_t len);
static inline int creactor_strerror(int err, char *buf, size_t len) {
    return __xpg_strerror_r(err, buf, len);
}

/// Socket address casts: Swift cannot cast between the sockaddr family of structs without rebinding memory.
static inline struct sockaddr *creactor_sockaddr(struct sockaddr_storage *s) { return (struct sockaddr *)s; }
static inline const struct sockaddr *creactor_sockaddr_const(const struct sockaddr_storage *s) { return (const struct sockaddr *)s; }
static inline const struct sockaddr_in *creactor_sockaddr_in(const struct sockaddr_storage *s) { return (const struct sockaddr_in *)s; }
static inline const struct sockaddr_in6 *creactor_sockaddr_in6(const struct sockaddr_storage *s) { return (const struct sockaddr_in6 *)s; }
static inline struct sockaddr_in *creactor_sockaddr_in_mut(struct sockaddr_storage *s) { return (struct sockaddr_in *)s; }
static inline struct sockaddr_in6 *creactor_sockaddr_in6_mut(struct sockaddr_storage *s) { return (struct sockaddr_in6 *)s; }

/// sendmsg with MSG_NOSIGNAL over a caller-owned iovec array: writev that cannot raise SIGPIPE.
static inline ssize_t creactor_sendv(int fd, struct iovec *iov, int count) {
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)count;
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/// sigset_t manipulation is macro-heavy in some libcs; keep it on the C side.
static inline int creactor_block_signal_and_update_signalfd(int signo, int existing_fd, sigset_t *set) {
    sigaddset(set, signo);
    int rc = pthread_sigmask(SIG_BLOCK, set, NULL);
    if (rc != 0) { errno = rc; return -1; }
    return signalfd(existing_fd, set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static inline void creactor_sigemptyset(sigset_t *set) { sigemptyset(set); }

/// The flag enums of epoll/eventfd import awkwardly; these keep Swift to plain ints.
static inline int creactor_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int creactor_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline int creactor_accept(int fd, struct sockaddr_storage *addr, socklen_t *len) {
    return accept4(fd, (struct sockaddr *)addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static inline void creactor_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

/// `IOV_MAX` is a macro that Swift may not import.
static inline int creactor_iov_max(void) {
#ifdef IOV_MAX
    return IOV_MAX;
#else
    return 1024;
#endif
}

/// getaddrinfo's error codes are macros; EAI_SYSTEM means "look at errno".
static inline int creactor_eai_system(void) { return EAI_SYSTEM; }

#endif
