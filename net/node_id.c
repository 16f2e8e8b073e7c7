#include "net/node_id.h"

#include "common/sha256.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define B32_LEN   52 /* ceil(256 / 5) */
#define GROUP_LEN 13
#define GROUPS    4

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int node_id_from_der(const uint8_t *der, size_t len, uint8_t id[NODE_ID_LEN])
{
    return sha256(der, len, id);
}

static int b32_value(char c)
{
    const char *p = strchr(b32_alphabet, toupper((unsigned char)c));
    return (p && c) ? (int)(p - b32_alphabet) : -1;
}

/* Luhn mod 32 over one group of base32 characters (all valid). */
static char luhn32(const char *s, size_t n)
{
    int factor = 1, sum = 0;
    for (size_t i = 0; i < n; i++) {
        int addend = factor * b32_value(s[i]);
        factor = factor == 2 ? 1 : 2;
        sum += addend / 32 + addend % 32;
    }
    return b32_alphabet[(32 - sum % 32) % 32];
}

static void b32_encode(const uint8_t id[NODE_ID_LEN], char out[B32_LEN])
{
    for (int i = 0; i < B32_LEN; i++) {
        int bit = i * 5, v = 0;
        for (int b = 0; b < 5; b++, bit++) {
            int byte = bit / 8;
            int on = byte < NODE_ID_LEN ? (id[byte] >> (7 - bit % 8)) & 1 : 0;
            v = (v << 1) | on;
        }
        out[i] = b32_alphabet[v];
    }
}

/* Returns 0, or -EINVAL when the unused trailing bits are not zero. */
static int b32_decode(const char in[B32_LEN], uint8_t id[NODE_ID_LEN])
{
    memset(id, 0, NODE_ID_LEN);
    for (int i = 0; i < B32_LEN; i++) {
        int v = b32_value(in[i]);
        for (int b = 4; b >= 0; b--) {
            int bit = i * 5 + (4 - b);
            int on = (v >> b) & 1;
            if (bit / 8 < NODE_ID_LEN)
                id[bit / 8] |= (uint8_t)(on << (7 - bit % 8));
            else if (on)
                return -EINVAL;
        }
    }
    return 0;
}

void node_id_format(const uint8_t id[NODE_ID_LEN], char *out)
{
    char b32[B32_LEN], full[GROUPS * (GROUP_LEN + 1)];
    b32_encode(id, b32);
    for (int g = 0; g < GROUPS; g++) {
        memcpy(full + g * (GROUP_LEN + 1), b32 + g * GROUP_LEN, GROUP_LEN);
        full[g * (GROUP_LEN + 1) + GROUP_LEN] = luhn32(b32 + g * GROUP_LEN, GROUP_LEN);
    }
    size_t o = 0;
    for (size_t i = 0; i < sizeof(full); i++) {
        if (i && i % 7 == 0)
            out[o++] = '-';
        out[o++] = full[i];
    }
    out[o] = '\0';
}

int node_id_parse(const char *s, uint8_t id[NODE_ID_LEN])
{
    char full[GROUPS * (GROUP_LEN + 1)], b32[B32_LEN];
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '-' || *s == ' ')
            continue;
        if (b32_value(*s) < 0 || n == sizeof(full))
            return -EINVAL;
        full[n++] = (char)toupper((unsigned char)*s);
    }
    if (n != sizeof(full))
        return -EINVAL;
    for (int g = 0; g < GROUPS; g++) {
        const char *grp = full + g * (GROUP_LEN + 1);
        if (luhn32(grp, GROUP_LEN) != grp[GROUP_LEN])
            return -EBADMSG;
        memcpy(b32 + g * GROUP_LEN, grp, GROUP_LEN);
    }
    return b32_decode(b32, id);
}
