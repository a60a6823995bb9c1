// Linux kernel TLS (the `tls` upper-layer protocol of TCP): the uapi header's constants and
// structures, and functions for what Swift cannot write (control messages, sizeof/offsetof).
// Header-only: every helper is `static inline`.
#ifndef C_HTTP_SERVER_KERNEL_TLS_H
#define C_HTTP_SERVER_KERNEL_TLS_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/tls.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/// setsockopt(TCP_ULP, "tls"): attaches kernel TLS to a connected TCP socket. 0 or -1 (errno).
static inline int chso_ktls_attach(int fd) {
    return setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
}

/// setsockopt(SOL_TLS, TLS_TX): from now on what is written to `fd` is encrypted by the kernel with
/// `info` (a `struct tls12_crypto_info_*`). 0 or -1 (errno).
static inline int chso_ktls_set_transmit(int fd, const void *info, unsigned int length) {
    return setsockopt(fd, SOL_TLS, TLS_TX, info, (socklen_t)length);
}

/// One record of content type `type` (21, an alert) through kernel TLS: sendmsg with a
/// TLS_SET_RECORD_TYPE control message, MSG_NOSIGNAL | MSG_DONTWAIT. The count sent, or -1 (errno).
static inline long chso_ktls_send_record(int fd, unsigned char type, const void *bytes, size_t count) {
    union {
        char buffer[CMSG_SPACE(sizeof(unsigned char))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec vector = { .iov_base = (void *)bytes, .iov_len = count };
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_TLS;
    header->cmsg_type = TLS_SET_RECORD_TYPE;
    header->cmsg_len = CMSG_LEN(sizeof(unsigned char));
    *CMSG_DATA(header) = type;
    return (long)sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static inline int chso_errno(void) { return errno; }

/// The uapi structure's layout for a cipher (TLS_CIPHER_*), for tests: its size and the offsets
/// of iv, key, salt and rec_seq; all zero for another cipher.
struct chso_ktls_layout { size_t size, iv, key, salt, recordSequence; };
static inline struct chso_ktls_layout chso_ktls_layout(int cipher) {
    struct chso_ktls_layout layout = {0, 0, 0, 0, 0};
#define CHSO_LAYOUT(type) \
    layout.size = sizeof(struct type); layout.iv = offsetof(struct type, iv); \
    layout.key = offsetof(struct type, key); layout.salt = offsetof(struct type, salt); \
    layout.recordSequence = offsetof(struct type, rec_seq);
    switch (cipher) {
    case TLS_CIPHER_AES_GCM_128: CHSO_LAYOUT(tls12_crypto_info_aes_gcm_128) break;
    case TLS_CIPHER_AES_GCM_256: CHSO_LAYOUT(tls12_crypto_info_aes_gcm_256) break;
    case TLS_CIPHER_CHACHA20_POLY1305: CHSO_LAYOUT(tls12_crypto_info_chacha20_poly1305) break;
    default: break;
    }
#undef CHSO_LAYOUT
    return layout;
}

#endif
