/*
 * identity.h - a node's long-term identity: an Ed25519 key and a self-signed
 * certificate whose SHA-256 fingerprint is the node ID (node_id.h).
 *
 * The key file is created with mode 0600 and O_EXCL: an existing identity is
 * never overwritten. Key material is never logged.
 */
#ifndef QFS_NET_IDENTITY_H
#define QFS_NET_IDENTITY_H

#include "net/node_id.h"

#include <openssl/x509.h>

/*
 * Creates key_path (0600) and cert_path (0644). Returns 0 and the new node's
 * ID, -EEXIST if either file exists (nothing is written then), or -errno / -EIO.
 */
int identity_create(const char *key_path, const char *cert_path, uint8_t id[NODE_ID_LEN]);

/* The node ID of a certificate: 0, or -EIO / -ENOMEM. */
int identity_x509_id(X509 *x, uint8_t id[NODE_ID_LEN]);

/* Reads the PEM certificate at path and computes its node ID. 0, -errno or -EIO. */
int identity_cert_id(const char *cert_path, uint8_t id[NODE_ID_LEN]);

#endif
