/* libFuzzer target: the node config parser (and through it, node ID parsing). */
#include "net/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct net_config cfg;
    char err[256];
    net_config_parse(text, "fuzz.conf", &cfg, err, sizeof(err));
    free(text);
    return 0;
}
