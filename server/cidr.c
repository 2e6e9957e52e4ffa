// SPDX-License-Identifier: GPL-2.0-only
/* --allow rules: "127.0.0.0/8", "::1", "10.1.2.3". */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "netswapd.h"

int cidr_parse(const char *s, struct nsd_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int max;
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	out->prefix = max;
	if (slash) {
		unsigned long p;

		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		p = strtoul(slash + 1, &end, 10);
		if (*end || p > max)
			return -1;
		out->prefix = (unsigned int)p;
	}
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

bool cidr_match(const struct nsd_cidr *c, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *a;
	int family = sa->sa_family;

	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
		if (c->family == AF_INET && !memcmp(a, v4mapped, 12)) {
			a += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	return family == c->family && prefix_equal(a, c->addr, c->prefix);
}

bool cidr_allowed(const struct nsd_cidr *list, int n, const struct sockaddr *sa)
{
	if (n == 0 || sa->sa_family == AF_UNIX)
		return true;
	for (int i = 0; i < n; i++)
		if (cidr_match(&list[i], sa))
			return true;
	return false;
}
