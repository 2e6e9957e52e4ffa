// SPDX-License-Identifier: GPL-2.0-only
/* netswap attach's URL parser: every accepted form, every refusal. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/netswap.h"
#include "tests/unit/check.h"

static void ok(const char *s, const char *host, const char *port,
	       const char *export)
{
	struct cli_url u;
	const char *why = NULL;

	if (cli_url_parse(s, &u, &why)) {
		fprintf(stderr, "rejected %s: %s\n", s, why);
		fails++;
		return;
	}
	CHECK(!strcmp(u.host, host));
	CHECK(!strcmp(u.port, port));
	CHECK(!strcmp(u.export, export));
}

/* Gateways: @n pairs of HOST, PORT after @export, in order. */
static void gws(const char *s, const char *export, unsigned int n, ...)
{
	struct cli_url u;
	const char *why = NULL;
	va_list ap;

	if (cli_url_parse(s, &u, &why)) {
		fprintf(stderr, "rejected %s: %s\n", s, why);
		fails++;
		return;
	}
	CHECK(u.ngw == n);
	CHECK(!strcmp(u.export, export));
	CHECK(!strcmp(u.host, u.gw[0].host) && !strcmp(u.port, u.gw[0].port));
	va_start(ap, n);
	for (unsigned int i = 0; i < n && i < u.ngw; i++) {
		CHECK(!strcmp(u.gw[i].host, va_arg(ap, const char *)));
		CHECK(!strcmp(u.gw[i].port, va_arg(ap, const char *)));
	}
	va_end(ap);
}

static void bad(const char *s, const char *why_part)
{
	struct cli_url u;
	const char *why = NULL;

	if (!cli_url_parse(s, &u, &why)) {
		fprintf(stderr, "accepted %s\n", s);
		fails++;
		return;
	}
	CHECK(why && strstr(why, why_part));
}

int main(void)
{
	char longname[1100];

	ok("nbd://10.0.2.2:10809/swap", "10.0.2.2", "10809", "swap");
	ok("nbd://10.0.2.2/swap", "10.0.2.2", "10809", "swap");
	ok("nbd://host.example", "host.example", "10809", "");
	ok("nbd://host:1/", "host", "1", "");
	ok("nbd://[::1]:6000/a/b", "::1", "6000", "a/b");
	ok("nbd://[fe80::1]/x", "fe80::1", "10809", "x");
	ok("nbd://h/sw%20ap%2f", "h", "10809", "sw ap/");
	ok("nbd://h:65535/e", "h", "65535", "e");

	/* Gateways to one export, tried in this order. */
	gws("nbd://10.0.2.2/swap", "swap", 1, "10.0.2.2", "10809");
	gws("nbd://gw1,gw2/swap", "swap", 2, "gw1", "10809", "gw2", "10809");
	gws("nbd://gw1:1,gw2:2,gw3/s%2f", "s/", 3, "gw1", "1", "gw2", "2",
	    "gw3", "10809");
	gws("nbd://[::1]:7,[fe80::1],10.0.0.1:9/x", "x", 3, "::1", "7",
	    "fe80::1", "10809", "10.0.0.1", "9");
	gws("nbd://a,b", "", 2, "a", "10809", "b", "10809");
	gws("nbd://a,b,c,d,e,f,g,h/x", "x", 8, "a", "10809", "b", "10809",
	    "c", "10809", "d", "10809", "e", "10809", "f", "10809", "g",
	    "10809", "h", "10809");
	bad("nbd://a,b,c,d,e,f,g,h,i/x", "too many gateways");
	bad("nbd://gw1,/swap", "missing host");
	bad("nbd://,gw2/swap", "missing host");
	bad("nbd://gw1,,gw2/swap", "missing host");
	bad("nbd://gw1,gw2:0/swap", "port out of range");
	bad("nbd://gw1,gw2:/swap", "bad port");
	bad("nbd://gw1,[::1/swap", "unterminated");
	bad("nbd://[::1]x,gw2/swap", "junk");
	bad("nbd://gw1,u@gw2/swap", "user names");

	bad("http://h/e", "expected nbd://");
	bad("nbds://h/e", "TLS");
	bad("nbd+unix:///e?socket=/s", "Unix");
	bad("nbd:///e", "missing host");
	bad("nbd://:10809/e", "missing host");
	bad("nbd://h:0/e", "port out of range");
	bad("nbd://h:65536/e", "port out of range");
	bad("nbd://h:12a/e", "bad port");
	bad("nbd://h:/e", "bad port");
	bad("nbd://[::1/e", "unterminated");
	bad("nbd://[::1]x/e", "junk");
	bad("nbd://u@h/e", "user names");
	bad("nbd://h/e?tls=off", "query");
	bad("nbd://h/e%zz", "%-escape");
	bad("nbd://h/e%0", "%-escape");
	bad("nbd://h/e%00x", "%00");

	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "nbd://h/", 8);
	longname[8 + 1023] = '\0';
	{
		struct cli_url u;
		const char *why;

		CHECK(!cli_url_parse(longname, &u, &why));
		CHECK(strlen(u.export) == 1023);
	}
	longname[8 + 1023] = 'a';
	longname[8 + 1024] = '\0';
	bad(longname, "too long");

	if (fails)
		fprintf(stderr, "%d failure(s)\n", fails);
	else
		printf("test-cli-url: ok\n");
	return fails != 0;
}
