#include "common/sha256.h"

#include <errno.h>
#include <pthread.h>

#include <openssl/evp.h>

/*
 * OpenSSL 3 re-fetches the algorithm on every EVP_sha256()-based init, which
 * costs more than hashing a small chunk; fetch once and share the (immutable)
 * EVP_MD across threads.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md)
        return -ENOMEM;
    unsigned int outlen = 0;
    if (!EVP_Digest(data, len, out, &outlen, sha256_md, NULL) || outlen != SHA256_LEN)
        return -ENOMEM;
    return 0;
}

void sha256_hex(const uint8_t digest[SHA256_LEN], char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_LEN; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[SHA256_HEX_LEN] = '\0';
}
