/*
 * tls.h - the TLS context for peer connections: TLS 1.3 only, both sides
 * present their certificate, and trust comes from pinning, not from a CA.
 *
 * OpenSSL's chain verification is switched off (certificates are
 * self-signed); instead, after the handshake, tls_peer_id() gives the SHA-256
 * fingerprint of the peer's certificate and the transport compares it with
 * the ID pinned in the config. A peer without a certificate fails the
 * handshake.
 */
#ifndef QFS_NET_TLS_H
#define QFS_NET_TLS_H

#include "net/node_id.h"

#include <openssl/ssl.h>

/* A context for both accepting and dialing. NULL on error (logged). */
SSL_CTX *tls_ctx_new(const char *cert_path, const char *key_path, uint8_t self_id[NODE_ID_LEN]);

/* The node ID of the peer's certificate: 0, or -EPERM if it presented none. */
int tls_peer_id(SSL *ssl, uint8_t id[NODE_ID_LEN]);

#endif
