#include "net/tls.h"
#include "net/identity.h"

#include "common/log.h"

#include <errno.h>

#include <openssl/err.h>
#include <openssl/x509.h>

/* Chain checks cannot pass for self-signed certificates; the pin is checked after. */
static int accept_any_cert(int preverify_ok, X509_STORE_CTX *ctx)
{
    (void)preverify_ok;
    (void)ctx;
    return 1;
}

static void log_ssl_error(const char *what, const char *path)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    log_error("tls: %s %s: %s", what, path, buf);
    ERR_clear_error();
}

SSL_CTX *tls_ctx_new(const char *cert_path, const char *key_path, uint8_t self_id[NODE_ID_LEN])
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_cert);
    /* Frames are re-offered from a buffer that may move; writes may be partial. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* One read() takes every record the socket holds, not two per record
     * (header, then body). Safe with epoll because the reader always reads
     * until TLS says WANT_READ, or marks the connection to read again. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    if (SSL_CTX_use_certificate_file(ctx, cert_path, SSL_FILETYPE_PEM) != 1) {
        log_ssl_error("cannot load certificate", cert_path);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
        log_ssl_error("cannot load key", key_path);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        log_ssl_error("key does not match certificate", cert_path);
    } else if (identity_cert_id(cert_path, self_id) < 0) {
        log_error("tls: cannot fingerprint %s", cert_path);
    } else {
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}

int tls_peer_id(SSL *ssl, uint8_t id[NODE_ID_LEN])
{
    X509 *x = SSL_get0_peer_certificate(ssl);
    return x ? identity_x509_id(x, id) : -EPERM;
}
