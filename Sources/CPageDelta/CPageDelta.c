#include "CPageDelta.h"
#include <stdint.h>

size_t cairn_xor_pages(const void *a, const void *b, void *out, size_t count) {
    const uint64_t *x = a, *y = b;
    uint64_t *o = out;
    size_t nonzero = 0;
    for (size_t i = 0; i < count / 8; i++) {
        uint64_t w = x[i] ^ y[i];
        o[i] = w;
        nonzero += w != 0;
    }
    return nonzero;
}

void cairn_xor_into(void *page, const void *change, size_t count) {
    uint64_t *p = page;
    const uint64_t *c = change;
    for (size_t i = 0; i < count / 8; i++) p[i] ^= c[i];
}
