// The system's OpenSSL 3 (libssl-dev), and functions for what OpenSSL spells as macros, which
// Swift cannot call, and for the key derivations kernel TLS needs. Header-only: every helper is
// `static inline`.
#ifndef C_HTTP_SERVER_OPENSSL_H
#define C_HTTP_SERVER_OPENSSL_H

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
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

/// HKDF-Expand (RFC 5869 §2.3) with `digest` ("SHA256", "SHA384"): `outLength` bytes from the
/// pseudorandom key `prk` and `info`. 1 on success. (OpenSSL 3's KDF parameters are an array of
/// OSSL_PARAM built by functions, simpler to write in C.)
static inline int chso_hkdf_expand(const char *digest, const unsigned char *prk, size_t prkLength,
                                   const unsigned char *info, size_t infoLength,
                                   unsigned char *out, size_t outLength) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *context = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (context == NULL) return 0;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[5];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)prk, prkLength);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infoLength);
    params[4] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(context, out, outLength, params);
    EVP_KDF_CTX_free(context);
    return ok;
}

/// The TLS 1.2 PRF (RFC 5246 §5) with `digest`: `outLength` bytes from `secret` and `seed` (the
/// label's bytes, then the seed proper). 1 on success.
static inline int chso_tls12_prf(const char *digest, const unsigned char *secret, size_t secretLength,
                                 const unsigned char *seed, size_t seedLength,
                                 unsigned char *out, size_t outLength) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *context = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (context == NULL) return 0;
    OSSL_PARAM params[4];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secretLength);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed, seedLength);
    params[3] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(context, out, outLength, params);
    EVP_KDF_CTX_free(context);
    return ok;
}

#endif
