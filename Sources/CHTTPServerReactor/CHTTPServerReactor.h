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
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
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
static inline ssize_t creactor_sendv(int fd, struct iovec *iov, int count, int more) {
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)count;
    return sendmsg(fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

/// send with MSG_NOSIGNAL, and MSG_MORE when `more`: the last partial segment waits (for close or
/// shutdown, which send it with the FIN in the same packet).
static inline ssize_t creactor_send(int fd, const void *bytes, size_t count, int more) {
    return send(fd, bytes, count, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
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

/// epoll_pwait2 (Linux 5.11): epoll_wait with a timeout in nanoseconds (negative: wait forever),
/// where epoll_wait's milliseconds would round a 10 ms timer up to 11. Through syscall(2), so that
/// the C library's age does not matter; -1 with ENOSYS on an older kernel.
static inline int creactor_epoll_wait_ns(int epfd, struct epoll_event *events, int max, long long timeout_ns) {
#ifdef SYS_epoll_pwait2
    struct timespec timeout;
    struct timespec *pointer = NULL;
    if (timeout_ns >= 0) {
        timeout.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        timeout.tv_nsec = (long)(timeout_ns % 1000000000LL);
        pointer = &timeout;
    }
    return (int)syscall(SYS_epoll_pwait2, epfd, events, max, pointer, NULL, (size_t)0);
#else
    (void)epfd; (void)events; (void)max; (void)timeout_ns;
    errno = ENOSYS;
    return -1;
#endif
}
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

// MARK: Child processes (ChildProcess.swift)

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define CREACTOR_HAVE_CLOSEFROM 1
/// GNU extension (declared by <spawn.h> only under _GNU_SOURCE): close every descriptor >= from.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *, int from);
#endif

/// pipe2(2) with O_CLOEXEC (declared only under _GNU_SOURCE). Both ends close on exec; the spawn's
/// dup2 file actions give the child its own, inheritable copies as 0, 1 and 2.
extern int pipe2(int fds[2], int flags);
static inline int creactor_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

/// fcntl(F_DUPFD_CLOEXEC): a copy numbered >= `minimum` (keeps pipe ends away from 0, 1 and 2).
static inline int creactor_dup_cloexec(int fd, int minimum) { return fcntl(fd, F_DUPFD_CLOEXEC, minimum); }

/// pidfd_open(2) (Linux 5.3), by system call number.
static inline int creactor_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// Checks whether the child behind `pidfd` has ended: 1 (with `*exit_code` set for a normal exit,
/// or `*signal_number` for death by a signal), 0 if it is still running, -1 with errno on error.
/// With `keep` the child stays a zombie (WNOWAIT): its pid, and so its process group ID, cannot be
/// reused until it is reaped by a second call without `keep`.
static inline int creactor_wait_pidfd(int pidfd, int keep, int *exit_code, int *signal_number) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int flags = WEXITED | WNOHANG | (keep ? WNOWAIT : 0);
    // P_PIDFD (3) is Linux 5.4's; <linux/wait.h> defines it but clashes with glibc's idtype_t.
    while (waitid((idtype_t)3, (id_t)pidfd, &info, flags) != 0) {
        if (errno != EINTR) return -1;
    }
    if (info.si_pid == 0) return 0;
    *exit_code = -1;
    *signal_number = 0;
    if (info.si_code == CLD_EXITED) *exit_code = info.si_status;
    else *signal_number = info.si_status;
    return 1;
}

/// Blocking reap by pid (last resort: a child whose owner went away).
static inline int creactor_reap_blocking(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

/// Switches the *calling thread's* credentials (raw system calls: glibc's setuid() would change
/// every thread of the process). Returns 0 or an errno.
static inline int creactor_thread_set_ids(uid_t ruid, uid_t euid, uid_t suid, gid_t rgid, gid_t egid, gid_t sgid) {
    if (syscall(SYS_setresgid, rgid, egid, sgid) != 0) return errno;
    if (syscall(SYS_setresuid, ruid, euid, suid) != 0) return errno;
    return 0;
}

/// posix_spawn(p) of `path` with `in_fd`, `out_fd` and `err_fd` as the child's descriptors 0, 1 and
/// 2 and nothing else open, an empty signal mask, default signal dispositions (a server ignores
/// SIGPIPE and blocks the signals it reads through signalfd; a child must not inherit either), and,
/// with `new_group`, a process group of its own (so that killing it kills what it started).
///
/// With `uid` >= 0 (the caller is root) the child runs as `uid`/`gid` without supplementary groups.
/// posix_spawn cannot change credentials, so the calling thread takes them on for the duration of
/// the call (raw system calls: the other threads keep theirs) and takes its own back after; the
/// saved set-user-ID stays 0 throughout, which is what allows the way back, and execve makes the
/// child's saved IDs its effective ones. A failure to switch back aborts: a server thread must
/// never go on with credentials it did not choose.
///
/// Returns 0 or an errno (exec failures included: glibc reports them from the vfork'ed child).
static inline int creactor_spawn(pid_t *pid, const char *path, int search_path,
                                 char *const argv[], char *const envp[],
                                 int in_fd, int out_fd, int err_fd, int new_group,
                                 long uid, long gid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }

    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
#ifdef CREACTOR_HAVE_CLOSEFROM
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_group) flags |= POSIX_SPAWN_SETPGROUP;
    if (rc == 0) rc = posix_spawnattr_setflags(&attributes, flags);
    if (rc == 0 && new_group) rc = posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t mask;
    sigemptyset(&mask);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &mask);
    sigset_t defaults;
    sigemptyset(&defaults);
    const int reset[] = { SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2, SIGXFSZ, SIGXCPU };
    for (unsigned i = 0; i < sizeof(reset) / sizeof(reset[0]); i++) sigaddset(&defaults, reset[i]);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &defaults);

    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    gid_t *groups = NULL;
    long group_count = -1;
    int switched = 0;
    if (rc == 0 && uid >= 0) {
        if (syscall(SYS_getresuid, &ruid, &euid, &suid) != 0 || syscall(SYS_getresgid, &rgid, &egid, &sgid) != 0) {
            rc = errno;
        } else {
            group_count = getgroups(0, NULL);
            if (group_count < 0) { rc = errno; }
            else {
                groups = malloc(sizeof(gid_t) * (size_t)(group_count + 1));
                if (groups == NULL) rc = ENOMEM;
                else if (getgroups((int)group_count, groups) < 0) rc = errno;
            }
        }
        if (rc == 0) {
            switched = 1;
            if (syscall(SYS_setgroups, 0, NULL) != 0) rc = errno;
            else rc = creactor_thread_set_ids((uid_t)uid, (uid_t)uid, suid, (gid_t)gid, (gid_t)gid, sgid);
        }
    }
    if (rc == 0) {
        rc = search_path ? posix_spawnp(pid, path, &actions, &attributes, argv, envp)
                         : posix_spawn(pid, path, &actions, &attributes, argv, envp);
    }
    if (switched) {
        // Back to the thread's own identity: the user first (it brings the capabilities back).
        if (syscall(SYS_setresuid, ruid, euid, suid) != 0) abort();
        if (syscall(SYS_setresgid, rgid, egid, sgid) != 0) abort();
        if (syscall(SYS_setgroups, (size_t)group_count, groups) != 0) abort();
    }
    free(groups);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

/// kill(2) of a process group (`-pgid`); 0 or an errno.
static inline int creactor_kill_group(pid_t pgid, int signal_number) {
    return kill(-pgid, signal_number) == 0 ? 0 : errno;
}

/// pidfd_send_signal(2); 0 or an errno.
static inline int creactor_pidfd_signal(int pidfd, int signal_number) {
#ifdef SYS_pidfd_send_signal
    return syscall(SYS_pidfd_send_signal, pidfd, signal_number, NULL, 0) == 0 ? 0 : errno;
#else
    return ENOSYS;
#endif
}

/// Bytes received and not yet read on a socket (FIONREAD; `ioctl` is variadic, so not imported).
static inline int creactor_unread_bytes(int fd) {
    int count = 0;
    if (ioctl(fd, FIONREAD, &count) < 0) return -1;
    return count;
}

/// Bytes written to a socket that the kernel has not yet sent (SIOCOUTQNSD, 0x894B in linux/sockios.h).
static inline int creactor_unsent_bytes(int fd) {
    int count = 0;
    if (ioctl(fd, 0x894B, &count) < 0) return -1;
    return count;
}

#endif
