#ifndef CAIRN_PAGE_DELTA_H
#define CAIRN_PAGE_DELTA_H
#include <stddef.h>

/// out = a XOR b over `count` bytes (a multiple of 8; every pointer 8-byte aligned). In C so
/// that even a debug build of Cairn runs this loop (every page capture stores and every
/// change recovery applies) fast.
void cairn_xor_pages(const void *a, const void *b, void *out, size_t count);

/// page ^= change over `count` bytes (a multiple of 8; both pointers 8-byte aligned).
void cairn_xor_into(void *page, const void *change, size_t count);

#endif
