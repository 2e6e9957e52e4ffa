// SPDX-License-Identifier: GPL-2.0-only
/*
 * nbd://HOST[:PORT]/EXPORT, as in the NBD URI specification: HOST is a name,
 * an IPv4 address or a bracketed IPv6 address; PORT defaults to 10809; the
 * export name is the rest of the path, percent-decoded, and may be empty.
 * TLS (nbds://), Unix sockets and query parameters are refused by name.
 * Beyond the specification, the authority may list several gateways to
 * one export, nbd://gw1,gw2:10810,[fd00::3]/swap: netswap.ko tries them in
 * turn whenever it connects.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/netswap.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int decode_export(const char *s, char *out, size_t outlen,
			 const char **why)
{
	size_t n = 0;
	int hi, lo;

	for (; *s; s++) {
		char c = *s;

		if (c == '?' || c == '#') {
			*why = "query and fragment parts are not supported";
			return -1;
		}
		if (c == '%') {
			hi = hexval((unsigned char)s[1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
			if (lo < 0) {
				*why = "bad %-escape in the export name";
				return -1;
			}
			c = (char)(hi << 4 | lo);
			if (!c) {
				*why = "the export name may not contain %00";
				return -1;
			}
			s += 2;
		}
		if (n + 1 >= outlen) {
			*why = "export name too long (at most 1023 bytes)";
			return -1;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static int parse_port(const char *s, size_t len, char *out, const char **why)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 5) {
		*why = "bad port";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i])) {
			*why = "bad port";
			return -1;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!v || v > 65535) {
		*why = "port out of range";
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* One HOST[:PORT] of the authority, s[0..n). */
static int parse_gateway(const char *s, size_t n, struct cli_gateway *g,
			 const char **why)
{
	const char *end = s + n, *host, *hend, *p;
	size_t hlen;

	if (*s == '[') {
		host = s + 1;
		hend = memchr(host, ']', (size_t)(end - host));
		if (!hend) {
			*why = "unterminated [IPv6] address";
			return -1;
		}
		p = hend + 1;
		if (p < end && *p != ':') {
			*why = "junk after ]";
			return -1;
		}
	} else {
		host = s;
		hend = memchr(s, ':', n);
		if (!hend)
			hend = end;
		p = hend;
	}
	hlen = (size_t)(hend - host);
	if (!hlen) {
		*why = "missing host";
		return -1;
	}
	if (hlen >= sizeof(g->host)) {
		*why = "host name too long";
		return -1;
	}
	memcpy(g->host, host, hlen);
	g->host[hlen] = '\0';
	if (p < end)
		return parse_port(p + 1, (size_t)(end - p - 1), g->port, why);
	strcpy(g->port, CLI_DEFAULT_PORT);
	return 0;
}

/* The authority: HOST[:PORT] items separated by commas (none inside an
 * [IPv6] address), every one a gateway to the same export. */
static int parse_gateways(const char *p, const char *end, struct cli_url *u,
			  const char **why)
{
	while (u->ngw < CLI_MAX_ADDRS) {
		const char *comma = p, *close;

		if (*p == '[' && (close = memchr(p, ']', (size_t)(end - p))))
			comma = close;
		comma = memchr(comma, ',', (size_t)(end - comma));
		if (parse_gateway(p, (size_t)((comma ? comma : end) - p),
				  &u->gw[u->ngw++], why))
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
	*why = "too many gateways (at most 8)";
	return -1;
}

int cli_url_parse(const char *s, struct cli_url *u, const char **why)
{
	const char *p, *path;

	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "nbds://", 7) || !strncmp(s, "nbds+unix://", 12)) {
		*why = "TLS (nbds://) is not supported";
		return -1;
	}
	if (!strncmp(s, "nbd+unix://", 11)) {
		*why = "Unix sockets cannot carry swap from the kernel; use nbd://";
		return -1;
	}
	if (strncmp(s, "nbd://", 6)) {
		*why = "expected nbd://HOST[:PORT][,HOST[:PORT]]...[/EXPORT]";
		return -1;
	}
	p = s + 6;
	path = strchr(p, '/');
	if (!path)
		path = p + strlen(p);
	if (memchr(p, '@', (size_t)(path - p))) {
		*why = "user names are not supported";
		return -1;
	}
	if (parse_gateways(p, path, u, why))
		return -1;
	strcpy(u->host, u->gw[0].host);
	strcpy(u->port, u->gw[0].port);
	if (!*path)
		return 0;
	return decode_export(path + 1, u->export, sizeof(u->export), why);
}
