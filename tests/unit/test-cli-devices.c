// SPDX-License-Identifier: GPL-2.0-only
/* /etc/netswap/devices: every accepted form, every refusal, whole files. */
#include <stdio.h>
#include <string.h>

#include "cli/devices.h"
#include "tests/unit/check.h"

static struct cli_dev_entry e;

static int parse(const char *line)
{
	const char *why = NULL;
	int r = cli_devices_parse_line(line, &e, &why);

	if (r < 0)
		fprintf(stderr, "rejected '%s': %s\n", line, why);
	return r;
}

static void bad(const char *line, const char *why_part)
{
	const char *why = NULL;

	if (cli_devices_parse_line(line, &e, &why) >= 0) {
		fprintf(stderr, "accepted '%s'\n", line);
		fails++;
		return;
	}
	if (!why || !strstr(why, why_part)) {
		fprintf(stderr, "'%s': '%s', expected '%s'\n", line, why, why_part);
		fails++;
	}
}

static void lines(void)
{
	char longline[CLI_DEV_LINE_MAX + 10];

	CHECK(parse("") == 0);
	CHECK(parse("   \t ") == 0);
	CHECK(parse("# a comment") == 0);
	CHECK(parse("  #swap0 nbd://h/e") == 0);

	CHECK(parse("swap0 nbd://10.0.0.1/node1") == 1);
	CHECK(!strcmp(e.name, "swap0") && e.nurls == 1 &&
	      !strcmp(e.url[0], "nbd://10.0.0.1/node1"));
	CHECK(e.priority == -1 && e.mkswap == CLI_MKSWAP_AUTO && !e.initramfs &&
	      e.nargs == 0);

	CHECK(parse("\tsw-1.a_b\tnbd://[::1]:7000/x   pri=10,mkswap=never,initramfs,"
		    "connections=2,io-timeout=0,no-integrity  # comment") == 1);
	CHECK(!strcmp(e.name, "sw-1.a_b") && e.priority == 10);
	CHECK(e.mkswap == CLI_MKSWAP_NEVER && e.initramfs);
	CHECK(e.nargs == 3 && !strcmp(e.args[0], "--connections=2") &&
	      !strcmp(e.args[1], "--io-timeout=0") &&
	      !strcmp(e.args[2], "--no-integrity"));

	CHECK(parse("m nbd://a/x nbd://b/y pri=0") == 1);
	CHECK(e.nurls == 2 && !strcmp(e.url[1], "nbd://b/y") && e.priority == 0);
	CHECK(parse("m nbd://a/x -") == 1 && e.nargs == 0);
	CHECK(parse("m nbd://a/x defaults") == 1 && e.nargs == 0);
	CHECK(parse("m nbd://a/x pri=32767") == 1 && e.priority == 32767);

	bad("swap0", "expected NAME URL");
	bad("swap0 /dev/sda", "must be an nbd:// URL");
	bad("swap0 nbd://a/x nbd://b/y nbd://c/z", "at most two URLs");
	bad("swap0 nbd://a/x pri=1 extra", "expected NAME URL");
	bad("swap0 pri=1 nbd://a/x", "must be an nbd:// URL");
	bad(".hidden nbd://a/x", "NAME must be");
	bad("-x nbd://a/x", "NAME must be");
	bad("a/b nbd://a/x", "NAME must be");
	bad("a123456789012345678901234567890b nbd://a/x", "NAME must be");
	bad("s nbds://a/x", "TLS");
	bad("s nbd+unix:///x?socket=/s", "Unix sockets");
	bad("s nbd://a:99999/x", "port");
	bad("s nbd://a/x pri=-1", "pri= must be");
	bad("s nbd://a/x pri=32768", "pri= must be");
	bad("s nbd://a/x pri=1x", "pri= must be");
	bad("s nbd://a/x pri", "pri= must be");
	bad("s nbd://a/x pri=1,pri=2", "pri= given twice");
	bad("s nbd://a/x mkswap=yes", "mkswap= must be");
	bad("s nbd://a/x mkswap=auto,mkswap=never", "given twice");
	bad("s nbd://a/x connections=", "value is empty");
	bad("s nbd://a/x connections=1,connections=2", "given twice");
	bad("s nbd://a/x Connections=1", "lower-case KEY");
	bad("s nbd://a/x --connections=1", "lower-case KEY");
	bad("s nbd://a/x name=other", "from the line's fields");
	bad("s nbd://a/x mirror", "from the line's fields");
	bad("s nbd://a/x a,,b", "stray comma");
	bad("s nbd://a/x ,a", "stray comma");
	bad("s nbd://a/x a,", "stray comma");
	bad("s nbd://a/x a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1,m=1,n=1,"
	    "o=1,p=1,q=1", "too many");

	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	bad(longline, "too long");
}

static void files(void)
{
	static struct cli_dev_entry list[4];
	char err[256];
	int n = 0;

	CHECK(cli_devices_parse("# none\n\n", "etc", list, 4, &n, err, sizeof(err)) == 0);
	CHECK(n == 0);
	CHECK(cli_devices_parse("a nbd://h/a\n# x\nb nbd://h/b pri=1", "etc", list, 4,
				&n, err, sizeof(err)) == 0);
	CHECK(n == 2 && !strcmp(list[1].name, "b") && list[1].line == 3 &&
	      !strcmp(list[1].source, "etc"));
	/* A second file: names stay unique across both. */
	CHECK(cli_devices_parse("c nbd://h/c\n", "run", list, 4, &n, err,
				sizeof(err)) == 0);
	CHECK(n == 3 && !strcmp(list[2].source, "run"));
	CHECK(cli_devices_parse("ok nbd://h/x\na nbd://h/again\n", "run", list, 4, &n,
				err, sizeof(err)) == -1);
	CHECK(!strcmp(err, "run:2: a is already defined (etc:1)"));
	CHECK(n == 3);
	/* The whole file is refused: the device before the error is not kept. */
	n = 0;
	CHECK(cli_devices_parse("a nbd://h/a\nb nbd://h/b pri=x\n", "etc", list, 4, &n,
				err, sizeof(err)) == -1);
	CHECK(!strcmp(err, "etc:2: pri= must be 0..32767"));
	CHECK(n == 0);
	n = 0;
	CHECK(cli_devices_parse("a nbd://h/a\nb nbd://h/b\nc nbd://h/c\n#\n", "etc",
				list, 2, &n, err, sizeof(err)) == -1);
	CHECK(!strcmp(err, "etc:3: more than 2 devices"));
	n = 0;
	CHECK(cli_devices_parse("a nbd://h/a\nb nbd://h/b\n# trailing\n\n", "etc",
				list, 2, &n, err, sizeof(err)) == 0);
	CHECK(n == 2);
}

int main(void)
{
	lines();
	files();
	return fails != 0;
}
