// SPDX-License-Identifier: GPL-2.0-only
/* The text after "rbd:" in an export SPEC: every accepted form, every
 * refusal (server/rbd.c). */
#include <string.h>

#include "server/netswapd.h"
#include "tests/unit/check.h"

static void ok(const char *s, const char *pool, const char *ns,
	       const char *image, const char *conf, const char *id)
{
	struct nsd_rbd_target t;
	char why[256] = "";

	if (rbd_spec_parse(s, &t, why, sizeof(why))) {
		fprintf(stderr, "rejected %s: %s\n", s, why);
		fails++;
		return;
	}
	CHECK(!strcmp(t.pool, pool));
	CHECK(!strcmp(t.ns, ns));
	CHECK(!strcmp(t.image, image));
	CHECK(!strcmp(t.conf, conf));
	CHECK(!strcmp(t.id, id));
}

static void bad(const char *s, const char *why_part)
{
	struct nsd_rbd_target t;
	char why[256] = "";

	if (!rbd_spec_parse(s, &t, why, sizeof(why))) {
		fprintf(stderr, "accepted %s\n", s);
		fails++;
		return;
	}
	if (!strstr(why, why_part)) {
		fprintf(stderr, "%s: reason \"%s\" lacks \"%s\"\n", s, why, why_part);
		fails++;
	}
}

int main(void)
{
	char longname[300];

	ok("rbd/swap", "rbd", "", "swap", "", "");
	ok("pool/ns/img", "pool", "ns", "img", "", "");
	ok("rbd/swap,conf=/etc/ceph/ceph.conf", "rbd", "", "swap",
	   "/etc/ceph/ceph.conf", "");
	ok("rbd/swap,id=gw,conf=/c", "rbd", "", "swap", "/c", "gw");
	ok("p/n/i,conf=/a b/c.conf,id=x", "p", "n", "i", "/a b/c.conf", "x");

	bad("swap", "POOL/[NAMESPACE/]IMAGE");
	bad("/swap", "POOL/");
	bad("rbd/", "POOL/");
	bad("rbd//swap", "POOL/");
	bad("a/b/c/d", "POOL/");
	bad("rbd/ns/", "POOL/");
	bad("", "POOL/");
	bad(",conf=/c", "POOL/");
	bad("rbd/swap,", "bad option");
	bad("rbd/swap,conf=", "bad option");
	bad("rbd/swap,id=", "bad option");
	bad("rbd/swap,user=x", "bad option");
	bad("rbd/swap,conf=/c,,id=x", "bad option");

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "rbd/", 4);
	bad(longname, "POOL/");		/* an image name of 295 bytes */
	longname[4 + 127] = '\0';
	ok(longname, "rbd", "", longname + 4, "", "");

	if (fails)
		fprintf(stderr, "%d failure(s)\n", fails);
	else
		printf("test-rbd-spec: ok\n");
	return fails != 0;
}
