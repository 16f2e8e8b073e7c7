/*
 * chunk-corrupt CHUNKS_DIR [HEX_HASH]: flips one byte of a stored chunk (the
 * given one, or the first in the store) directly in LMDB and prints the hex
 * name of the chunk it damaged. The store must not be open (unmounted).
 * Exit status: 0 done, 1 no such chunk / error, 2 usage.
 */
#include "tests/unit/chunk/corrupt.h"

#include <stdio.h>
#include <string.h>

static int parse_hex(const char *s, uint8_t out[SHA256_LEN])
{
    if (strlen(s) != SHA256_HEX_LEN)
        return -1;
    for (int i = 0; i < SHA256_LEN; i++) {
        unsigned int b;
        if (sscanf(s + 2 * i, "%2x", &b) != 1)
            return -1;
        out[i] = (uint8_t)b;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t want[SHA256_LEN], got[SHA256_LEN];
    if (argc < 2 || argc > 3 || (argc == 3 && parse_hex(argv[2], want) < 0)) {
        fprintf(stderr, "usage: chunk-corrupt CHUNKS_DIR [HEX_HASH]\n");
        return 2;
    }
    int rc = corrupt_chunk(argv[1], argc == 3 ? want : NULL, 0, got);
    if (rc < 0) {
        fprintf(stderr, "chunk-corrupt: %s: %s\n", argv[1], strerror(-rc));
        return 1;
    }
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(got, hex);
    printf("%s\n", hex);
    return 0;
}
