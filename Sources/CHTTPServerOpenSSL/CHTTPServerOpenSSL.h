// The system's OpenSSL 3 (libssl-dev), and functions for what OpenSSL spells as macros, which
// Swift cannot call. Header-only: every helper is `static inline`.
#ifndef C_HTTP_SERVER_OPENSSL_H
#define C_HTTP_SERVER_OPENSSL_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static inline long chso_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline int chso_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int chso_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long chso_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline int chso_ctx_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}
static inline long chso_set_mode(SSL *ssl, long mode) { return SSL_set_mode(ssl, mode); }

static inline void chso_bio_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void chso_bio_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }

/// SSL_OP_* and SSL_MODE_* values, which Swift imports with differing integer types per version.
static inline uint64_t chso_server_options(void) {
    return SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
        | SSL_OP_SINGLE_ECDH_USE | SSL_OP_NO_SSLv3
        | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
}
static inline uint64_t chso_op_enable_ktls(void) {
#ifdef SSL_OP_ENABLE_KTLS
    return SSL_OP_ENABLE_KTLS;
#else
    return 0;
#endif
}
static inline long chso_server_modes(void) {
    return SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
}
static inline long chso_bio_get_ktls_send(BIO *bio) {
#ifdef BIO_get_ktls_send
    return BIO_get_ktls_send(bio);
#else
    (void)bio;
    return 0;
#endif
}

#endif
