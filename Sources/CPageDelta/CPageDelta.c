#include "CPageDelta.h"
#include <stdint.h>

void cairn_xor_pages(const void *a, const void *b, void *out, size_t count) {
    const uint64_t *x = a, *y = b;
    uint64_t *o = out;
    for (size_t i = 0; i < count / 8; i++) o[i] = x[i] ^ y[i];
}

void cairn_xor_into(void *page, const void *change, size_t count) {
    uint64_t *p = page;
    const uint64_t *c = change;
    for (size_t i = 0; i < count / 8; i++) p[i] ^= c[i];
}
