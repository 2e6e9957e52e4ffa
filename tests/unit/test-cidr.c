// SPDX-License-Identifier: GPL-2.0-only
/*
 * netswapd's CIDR rules (--allow, allow=): every accepted form, every
 * refusal, matching at prefix edges that are not byte boundaries, IPv4
 * peers seen through a dual-stack socket, and the per-export access
 * decision built on them (catalog_allows).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "server/netswapd.h"
#include "tests/unit/check.h"

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else {
		CHECK(inet_pton(AF_INET6, s, &s6->sin6_addr) == 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static bool match(const char *rule, const char *peer)
{
	struct sockaddr_storage ss = addr(peer);
	struct nsd_cidr c;

	CHECK(cidr_parse(rule, &c) == 0);
	return cidr_match(&c, (struct sockaddr *)&ss);
}

static void test_parse(void)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "::1/129", "300.1.2.3",
		"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8",
		"10.0.0", "1.2.3.4.5", "fe80::1%eth0", "::1/1/2", "host",
		"10.0.0.0/99999999999999999999",
		"aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa/8",
	};
	struct nsd_cidr c;

	CHECK(cidr_parse("10.1.2.3", &c) == 0 && c.family == AF_INET &&
	      c.prefix == 32);
	CHECK(cidr_parse("10.0.0.0/8", &c) == 0 && c.prefix == 8);
	CHECK(cidr_parse("0.0.0.0/0", &c) == 0 && c.prefix == 0);
	CHECK(cidr_parse("::1", &c) == 0 && c.family == AF_INET6 &&
	      c.prefix == 128);
	CHECK(cidr_parse("fe80::/10", &c) == 0 && c.prefix == 10);
	CHECK(cidr_parse("::/0", &c) == 0 && c.prefix == 0);
	CHECK(cidr_parse("::ffff:10.0.0.1/128", &c) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cidr_parse(bad[i], &c) == 0) {
			fprintf(stderr, "accepted '%s'\n", bad[i]);
			fails++;
		}
	}
}

static void test_match(void)
{
	CHECK(match("127.0.0.1", "127.0.0.1"));
	CHECK(!match("127.0.0.1", "127.0.0.2"));
	CHECK(match("127.0.0.0/8", "127.255.255.255"));
	CHECK(!match("127.0.0.0/8", "128.0.0.0"));
	/* Prefixes that end inside a byte. */
	CHECK(match("127.0.0.2/31", "127.0.0.3"));
	CHECK(!match("127.0.0.2/31", "127.0.0.1"));
	CHECK(match("10.128.0.0/9", "10.255.1.1"));
	CHECK(!match("10.128.0.0/9", "10.127.1.1"));
	CHECK(match("192.168.1.64/26", "192.168.1.127"));
	CHECK(!match("192.168.1.64/26", "192.168.1.128"));
	/* Host bits in the rule are ignored past the prefix. */
	CHECK(match("10.1.2.3/8", "10.200.0.1"));
	CHECK(match("0.0.0.0/0", "203.0.113.9"));
	CHECK(match("::1", "::1"));
	CHECK(!match("::1", "::2"));
	CHECK(match("fe80::/10", "febf::1"));
	CHECK(!match("fe80::/10", "fec0::1"));
	CHECK(match("::/0", "2001:db8::1"));
	/* Families do not mix, except IPv4 peers on a dual-stack socket. */
	CHECK(!match("::/0", "10.0.0.1"));
	CHECK(!match("0.0.0.0/0", "2001:db8::1"));
	CHECK(match("10.0.0.0/8", "::ffff:10.9.8.7"));
	CHECK(!match("10.0.0.0/8", "::ffff:11.9.8.7"));
	CHECK(!match("10.0.0.0/8", "::10.9.8.7"));
	CHECK(match("::ffff:0:0/96", "::ffff:10.9.8.7"));
}

static void test_allowed(void)
{
	struct nsd_cidr list[2];
	struct sockaddr_storage in = addr("10.0.0.5"), out = addr("11.0.0.5");
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	CHECK(cidr_parse("10.0.0.0/24", &list[0]) == 0);
	CHECK(cidr_parse("::1", &list[1]) == 0);
	CHECK(cidr_allowed(list, 2, (struct sockaddr *)&in));
	CHECK(!cidr_allowed(list, 2, (struct sockaddr *)&out));
	/* No rules: everyone; the global --allow does not apply to Unix. */
	CHECK(cidr_allowed(list, 0, (struct sockaddr *)&out));
	CHECK(cidr_allowed(list, 2, (struct sockaddr *)&un));
}

/* The per-export decision: a list applies to its kind of socket, and a
 * restricted export lets no peer in through a list it has not. */
static void test_export_access(void)
{
	struct nsd_cidr cidr;
	uid_t uid = 1000;
	struct nsd_entry open = { 0 }, by_net = { 0 }, by_uid = { 0 };
	struct nsd_peer tcp_in = { .addr = addr("10.0.0.5") };
	struct nsd_peer tcp_out = { .addr = addr("11.0.0.5") };
	struct nsd_peer unix_1000 = { .is_unix = true, .has_cred = true,
				      .uid = 1000 };
	struct nsd_peer unix_0 = { .is_unix = true, .has_cred = true };
	struct nsd_peer unix_unknown = { .is_unix = true, .uid = 1000 };

	CHECK(cidr_parse("10.0.0.0/8", &cidr) == 0);
	by_net.spec.access.cidr = &cidr;
	by_net.spec.access.ncidr = 1;
	by_uid.spec.access.uid = &uid;
	by_uid.spec.access.nuid = 1;

	CHECK(catalog_allows(&open, &tcp_in) && catalog_allows(&open, &tcp_out));
	CHECK(catalog_allows(&open, &unix_0));
	CHECK(catalog_allows(&by_net, &tcp_in));
	CHECK(!catalog_allows(&by_net, &tcp_out));
	CHECK(!catalog_allows(&by_net, &unix_1000));
	CHECK(catalog_allows(&by_uid, &unix_1000));
	CHECK(!catalog_allows(&by_uid, &unix_0));
	CHECK(!catalog_allows(&by_uid, &unix_unknown));	/* no SO_PEERCRED */
	CHECK(!catalog_allows(&by_uid, &tcp_in));
}

int main(void)
{
	test_parse();
	test_match();
	test_allowed();
	test_export_access();
	if (!fails)
		printf("cidr: all passed\n");
	return fails != 0;
}
