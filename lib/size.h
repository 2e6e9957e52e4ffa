/* SPDX-License-Identifier: GPL-2.0-only */
/* Sizes on command lines: "64M", "1G", "4096". Shared by netswapd and netswap. */
#ifndef NETSWAP_LIB_SIZE_H
#define NETSWAP_LIB_SIZE_H

#include <stdint.h>
#include <stddef.h>

/*
 * Parse a decimal byte count with an optional K/M/G/T suffix (powers of
 * 1024, either case, an optional trailing "iB" or "B").  Returns 0 and stores
 * the value, or -1 for anything else, including overflow past 2^63.
 */
int size_parse(const char *s, uint64_t *out);

/* Format a byte count as the largest exact unit: 65536 -> "64K". */
void size_format(uint64_t bytes, char *buf, size_t buflen);

#endif
