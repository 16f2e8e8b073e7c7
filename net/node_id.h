/*
 * node_id.h - node IDs: the SHA-256 fingerprint of a node's certificate (DER).
 *
 * Human form (as Syncthing's device IDs): the 32 bytes in RFC 4648 base32
 * (52 characters), cut into four groups of 13, each followed by a Luhn mod 32
 * check character, printed as eight dash-separated groups of seven:
 *   ABCDEFG-HIJKLMN-...  (63 characters)
 * Parsing accepts lower case and missing dashes, and rejects a wrong check
 * character, so a mistyped ID is caught before it is pinned.
 */
#ifndef QFS_NET_NODE_ID_H
#define QFS_NET_NODE_ID_H

#include <stddef.h>
#include <stdint.h>

#define NODE_ID_LEN     32
#define NODE_ID_STR_LEN 63

/* id = SHA-256(der). Returns 0 or -ENOMEM. */
int node_id_from_der(const uint8_t *der, size_t len, uint8_t id[NODE_ID_LEN]);

/* Human form into out (NODE_ID_STR_LEN + 1 bytes, NUL-terminated). */
void node_id_format(const uint8_t id[NODE_ID_LEN], char *out);

/* Parses the human form: 0, -EINVAL (length or character) or -EBADMSG (check character). */
int node_id_parse(const char *s, uint8_t id[NODE_ID_LEN]);

#endif
