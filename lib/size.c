// SPDX-License-Identifier: GPL-2.0-only
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int suffix_shift(const char *s, unsigned int *shift)
{
	static const char units[] = "KMGT";
	const char *u;

	if (*s == '\0') {
		*shift = 0;
		return 0;
	}
	if (*s == 'B' || *s == 'b') {
		*shift = 0;
		return s[1] == '\0' ? 0 : -1;
	}
	u = strchr(units, toupper((unsigned char)*s));
	if (!u)
		return -1;
	*shift = 10 * (unsigned int)(u - units + 1);
	s++;
	if (*s == 'i' || *s == 'I')
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	return *s == '\0' ? 0 : -1;
}

int size_parse(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || suffix_shift(end, &shift))
		return -1;
	if (shift && v > (UINT64_MAX >> 1) >> shift)
		return -1;
	v <<= shift;
	if (v > (UINT64_MAX >> 1))
		return -1;
	*out = v;
	return 0;
}

void size_format(uint64_t bytes, char *buf, size_t buflen)
{
	static const char units[] = "KMGT";
	int i = -1;

	while (i < 3 && bytes && (bytes & 1023) == 0) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, buflen, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, buflen, "%llu%c", (unsigned long long)bytes,
			 units[i]);
}
