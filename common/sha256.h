/*
 * sha256.h - SHA-256 through OpenSSL EVP (uses SHA-NI where the CPU has it).
 *
 * Chunk names, node IDs (certificate fingerprints) and every integrity check
 * go through here. The digest algorithm is fetched once per process; all
 * functions are thread-safe.
 */
#ifndef QFS_COMMON_SHA256_H
#define QFS_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN     32
#define SHA256_HEX_LEN 64

/* out = SHA-256(data). Returns 0, or -ENOMEM if OpenSSL cannot allocate. */
int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Lower-case hex, NUL-terminated: hex must hold SHA256_HEX_LEN + 1 bytes. */
void sha256_hex(const uint8_t digest[SHA256_LEN], char *hex);

#endif
