// SPDX-License-Identifier: GPL-2.0-only
/*
 * netswapd's configuration: the option table's own consistency, every
 * kind of option from the command line and from a file, the bounds, the
 * export SPEC syntax with its attributes, which source wins, and the
 * one-line errors (with FILE:LINE for a file).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/netswapd.h"
#include "tests/unit/check.h"

#define CONFIG_TEST_LINE ((64 << 10) + 16)	/* past the file's limit */

static char dir[] = "/tmp/netswap-test-config.XXXXXX";
static char err[512];

/* config_load() of a NULL-terminated argument list, argv[0] added. */
static int load(struct nsd_config *cfg, ...)
{
	char *argv[32] = { "netswapd" };
	int argc = 1;
	va_list ap;
	int rc;

	va_start(ap, cfg);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	err[0] = '\0';
	rc = config_load(cfg, argc, argv, err, sizeof(err));
	return rc;
}

/* The load fails, and its error holds @want. */
#define BAD(want, ...)							\
	do {								\
		struct nsd_config c_;					\
		CHECK(load(&c_, __VA_ARGS__, NULL) == -1);		\
		if (!strstr(err, want))					\
			fprintf(stderr, "%s:%d: error '%s' lacks '%s'\n", \
				__FILE__, __LINE__, err, want), fails++; \
		CHECK(!strchr(err, '\n'));				\
		config_free(&c_);					\
	} while (0)

static const char *file(const char *name, const char *text, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f && fwrite(text, 1, len, f) == len && !fclose(f));
	return path;
}

#define FILE_OF(name, text) file(name, text, sizeof(text) - 1)

static void test_table(void)
{
	for (int i = 0; i < nsd_noptions; i++) {
		const struct nsd_option *o = &nsd_options[i];

		CHECK(o->name[0] && strspn(o->name, "abcdefghijklmnopqrstuvwxyz-") ==
				    strlen(o->name));
		CHECK(o->help && o->help[0] && o->help[strlen(o->help) - 1] != '.');
		CHECK(options_find(o->name) == o);	/* names are unique */
		CHECK((o->kind == OPT_KIND_FN) == (o->fn != NULL));
		CHECK(o->kind == OPT_KIND_FN || o->offset < sizeof(struct nsd_config));
		if (o->kind == OPT_KIND_FLAG)
			CHECK(!o->arg);
		else if (o->kind != OPT_KIND_FN)
			CHECK(o->arg);
		if (o->kind == OPT_KIND_UINT || o->kind == OPT_KIND_MODE ||
		    o->kind == OPT_KIND_SIZE)
			CHECK(o->min <= o->max);
	}
	CHECK(!options_find("nope"));
}

static void test_defaults(void)
{
	struct nsd_config c;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c.listen[0].addr;

	CHECK(load(&c, "--export", "a=mem:1M", NULL) == 0);
	CHECK(c.max_connections == 4096);
	CHECK(c.buffer_memory == 64ULL << 20);
	CHECK(c.reserve == NSD_AUTO_SIZE);
	CHECK(c.threads >= 1 && c.threads <= 256);
	CHECK(c.handshake_timeout == 30 && c.send_timeout == 30);
	CHECK(c.socket_mode == 0600);
	CHECK(c.socket_uid == (uid_t)-1 && c.socket_gid == (gid_t)-1);
	CHECK(!c.read_only && !c.no_list && !c.mlock && !c.quiet && !c.pidfile);
	CHECK(c.nlisten == 1 && !c.listen[0].is_unix);
	CHECK(sin->sin_family == AF_INET && ntohs(sin->sin_port) == NSD_DEFAULT_PORT);
	CHECK(c.nexports == 1 && c.exports[0].kind == NSD_EXPORT_MEM);
	CHECK(c.exports[0].size == 1 << 20 && !c.exports[0].read_only);
	config_free(&c);
}

static void test_kinds(void)
{
	struct nsd_config c;

	CHECK(load(&c, "--export", "a=mem:1M", "--max-connections", "32703",
		   "--buffer-memory", "2M", "--reserve-per-connection", "0",
		   "--threads", "256", "--socket-mode", "0660", "--mlock",
		   "--pidfile", "/run/x.pid", "--pidfile", "/run/y.pid",
		   "--no-list", "--listen", "unix:/tmp/s", "--listen", "[::1]:0",
		   NULL) == 0);
	CHECK(c.max_connections == 32703 && c.buffer_memory == 2U << 20);
	CHECK(c.reserve == 0 && c.threads == 256 && c.socket_mode == 0660);
	CHECK(c.mlock && c.no_list && !strcmp(c.pidfile, "/run/y.pid"));
	CHECK(c.nlisten == 2 && c.listen[0].is_unix &&
	      !strcmp(c.listen[0].path, "/tmp/s"));
	CHECK(c.listen[1].addr.ss_family == AF_INET6);
	config_free(&c);

	BAD("--max-connections: '0' is not a number from 1 to 32703",
	    "--export", "a=mem:1M", "--max-connections", "0");
	BAD("'32704' is not", "--export", "a=mem:1M", "--max-connections", "32704");
	BAD("'4x' is not", "--export", "a=mem:1M", "--threads", "4x");
	BAD("'-1' is not", "--export", "a=mem:1M", "--threads", "-1");
	BAD("'99999999999999999999' is not", "--export", "a=mem:1M",
	    "--threads", "99999999999999999999");
	BAD("--buffer-memory: '1M' is not a size from 2M to 1T",
	    "--export", "a=mem:1M", "--buffer-memory", "1M");
	BAD("'2T' is not a size", "--export", "a=mem:1M", "--buffer-memory", "2T");
	BAD("'0800' is not an octal mode from 0000 to 0777",
	    "--export", "a=mem:1M", "--socket-mode", "0800");
	BAD("'1777' is not an octal mode", "--export", "a=mem:1M",
	    "--socket-mode", "1777");
	BAD("--listen: cannot use 'nohost'", "--export", "a=mem:1M",
	    "--listen", "nohost");
	BAD("--allow: bad CIDR '10.0.0.0/33'", "--export", "a=mem:1M",
	    "--allow", "10.0.0.0/33");
	BAD("--socket-owner: no user", "--export", "a=mem:1M",
	    "--socket-owner", "no-such-user-here");
	BAD("unknown option '--bogus'", "--bogus");
	BAD("option '--threads' needs an argument", "--export", "a=mem:1M",
	    "--threads");
	BAD("unexpected argument 'extra'", "--export", "a=mem:1M", "extra");
	BAD("no export given", "--threads", "2");
	BAD("export name 'a' given twice", "--export", "a=mem:1M",
	    "--export", "a=mem:2M");
	/* An argument's control characters do not break the line. */
	BAD("cannot use", "--export", "a=mem:1M", "--listen", "x\ny");
}

static void test_export_specs(void)
{
	struct nsd_config c;
	struct nsd_export_spec *e;
	struct nsd_export_spec copy;

	CHECK(load(&c, "--export", "f=file:/srv/x,y.img:8G,read-only",
		   "--export", "m=mem:1M,allow=10.0.0.0/8+::1+127.0.0.1,"
		   "allow-uid=0+1000+root,preallocate,description=hi, there, "
		   "read-only,allow=x",
		   "--export", "=mem:4K", "--export", "p=file:/a:b:c", NULL) == 0);
	e = &c.exports[0];
	CHECK(!strcmp(e->name, "f") && e->kind == NSD_EXPORT_FILE);
	CHECK(!strcmp(e->path, "/srv/x,y.img") && e->size == 8ULL << 30);
	CHECK(e->read_only && !e->preallocate && !e->description);
	CHECK(!e->access.ncidr && !e->access.nuid);
	e = &c.exports[1];
	CHECK(e->access.ncidr == 3 && e->access.cidr[0].prefix == 8);
	CHECK(e->access.cidr[1].family == AF_INET6 && e->access.cidr[2].prefix == 32);
	CHECK(e->access.nuid == 3 && e->access.uid[0] == 0 &&
	      e->access.uid[1] == 1000 && e->access.uid[2] == 0);
	CHECK(e->preallocate && !e->read_only);
	/* description= takes the rest, commas and attribute words too. */
	CHECK(e->description &&
	      !strcmp(e->description, "hi, there, read-only,allow=x"));
	CHECK(!strcmp(c.exports[2].name, "") && c.exports[2].size == 4096);
	/* ":c" is no size: it belongs to the path. */
	CHECK(!strcmp(c.exports[3].path, "/a:b:c") && c.exports[3].size == 0);

	CHECK(export_spec_dup(&copy, &c.exports[1]) == 0);
	CHECK(copy.access.cidr != c.exports[1].access.cidr);
	CHECK(copy.access.ncidr == 3 && copy.access.uid[1] == 1000);
	CHECK(!strcmp(copy.description, c.exports[1].description));
	CHECK(export_spec_same_backing(&copy, &c.exports[1]));
	copy.access.ncidr = 0;	/* access is not backing */
	CHECK(export_spec_same_backing(&copy, &c.exports[1]));
	copy.size++;
	CHECK(!export_spec_same_backing(&copy, &c.exports[1]));
	copy.size--;
	copy.read_only = true;
	CHECK(!export_spec_same_backing(&copy, &c.exports[1]));
	copy.access.ncidr = 3;
	export_spec_free(&copy);
	CHECK(!export_spec_same_backing(&c.exports[0], &c.exports[1]));
	config_free(&c);

	/* --read-only reaches every export, wherever it was given. */
	CHECK(load(&c, "--export", "a=mem:1M", "--read-only", "--export",
		   "b=mem:1M", NULL) == 0);
	CHECK(c.exports[0].read_only && c.exports[1].read_only);
	config_free(&c);

	BAD("--export: bad SPEC 'nameonly'", "--export", "nameonly");
	BAD("bad SPEC 'a=mem:0'", "--export", "a=mem:0");
	BAD("bad SPEC 'a=disk:1M'", "--export", "a=disk:1M");
	BAD("bad SPEC 'a=file:'", "--export", "a=file:");
	BAD("bad SPEC 'a=file:,read-only'", "--export", "a=file:,read-only");
	BAD("bad allow= list ''", "--export", "a=mem:1M,allow=");
	BAD("bad allow= list '1.2.3.4+'", "--export", "a=mem:1M,allow=1.2.3.4+");
	BAD("bad allow= list '1.2.3.4++::1'", "--export",
	    "a=mem:1M,allow=1.2.3.4++::1");
	BAD("bad allow= list '300.0.0.0/8'", "--export",
	    "a=mem:1M,allow=300.0.0.0/8");
	BAD("bad allow-uid= list 'no-such-user-here'", "--export",
	    "a=mem:1M,allow-uid=no-such-user-here");
	BAD("bad allow-uid= list '4294967295'", "--export",
	    "a=mem:1M,allow-uid=4294967295");
	BAD("unknown attribute 'bogus'", "--export", "a=mem:1M,read-only,bogus");
	BAD("unknown attribute 'read-only=yes'", "--export",
	    "a=mem:1M,preallocate,read-only=yes");
}

static void test_file(void)
{
	static const char good[] =
		"# netswapd.conf\n"
		"\n"
		"  listen = 127.0.0.1:0  \n"
		"export = a=mem:1M,allow=127.0.0.1\r\n"
		"export=b=file:/tmp/b.img:1M , description=# not a comment \n"
		"threads = 2\n"
		"mlock\n"
		"quiet = no\n"
		"no-list = yes\n"
		"read-only = false\n"
		"pidfile = /run/netswapd.pid\n"
		"socket-owner = 0:0\n"
		"\t# indented comment\n";
	const char *path = FILE_OF("good.conf", good);
	struct nsd_config c;

	CHECK(load(&c, "--config", path, NULL) == 0);
	CHECK(c.nlisten == 1 && c.threads == 2 && c.mlock && !c.quiet);
	CHECK(c.no_list && !c.read_only);
	CHECK(c.socket_uid == 0 && c.socket_gid == 0);
	CHECK(c.pidfile && !strcmp(c.pidfile, "/run/netswapd.pid"));
	CHECK(c.nexports == 2 && c.exports[0].access.ncidr == 1);
	CHECK(!strcmp(c.exports[1].path, "/tmp/b.img") && c.exports[1].size == 1 << 20);
	CHECK(!strcmp(c.exports[1].description, "# not a comment"));
	CHECK(c.config_path && !strcmp(c.config_path, path));
	config_free(&c);

	/* The command line comes after the file: it wins, lists add up. */
	CHECK(load(&c, "--threads", "3", "--config", path, "--export",
		   "z=mem:1M", "--listen", "127.0.0.1:0", NULL) == 0);
	CHECK(c.threads == 3 && c.nexports == 3 && c.nlisten == 2);
	CHECK(!strcmp(c.exports[2].name, "z"));
	config_free(&c);
	BAD("export name 'a' given twice", "--config", path, "--export",
	    "a=mem:1M");
}

static void test_file_errors(void)
{
	char want[256], big[CONFIG_TEST_LINE];
	const char *p;

	p = FILE_OF("e1.conf", "export = a=mem:1M\n\nbogus = 1\n");
	snprintf(want, sizeof(want), "%s:3: unknown key 'bogus'", p);
	BAD(want, "--config", p);
	p = FILE_OF("e2.conf", "export = a=mem:1M\nthreads = 0\n");
	snprintf(want, sizeof(want), "%s:2: threads: '0' is not a number from 1 to 256", p);
	BAD(want, "--config", p);
	p = FILE_OF("e3.conf", "config = /etc/other.conf\n");
	snprintf(want, sizeof(want), "%s:1: unknown key 'config'", p);
	BAD(want, "--config", p);
	p = FILE_OF("e4.conf", "help\n");
	BAD(":1: unknown key 'help'", "--config", p);
	p = FILE_OF("e5.conf", "threads\n");
	BAD(":1: threads: needs an argument N", "--config", p);
	p = FILE_OF("e6.conf", "mlock = maybe\n");
	BAD(":1: mlock: 'maybe' is not yes or no", "--config", p);
	p = FILE_OF("e7.conf", "export = a=mem:1M\nexport = b=mem:0\n");
	BAD(":2: export: bad SPEC 'b=mem:0'", "--config", p);
	p = FILE_OF("e8.conf", "export = a=mem:1M\nthreads = 2 # two\n");
	BAD(":2: threads: '2 # two' is not a number", "--config", p);
	p = FILE_OF("e9.conf", "export = a=mem:1M\nthr\0eads = 2\n");
	BAD(":2: NUL byte", "--config", p);
	memset(big, 'x', sizeof(big) - 2);
	memcpy(big, "pidfile = ", 10);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	p = file("e10.conf", big, strlen(big));
	BAD(":1: line longer than 64K", "--config", p);
	snprintf(want, sizeof(want), "%s/missing.conf: No such file or directory", dir);
	BAD(want, "--config", want);
	p = FILE_OF("e11.conf", "threads = 2\n");
	BAD("no export given", "--config", p);
	/* A bad command line is reported as such, file or not. */
	p = FILE_OF("e12.conf", "export = a=mem:1M\n");
	BAD("--threads: '0' is not", "--config", p, "--threads", "0");
}

int main(void)
{
	char cmd[96];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_table();
	test_defaults();
	test_kinds();
	test_export_specs();
	test_file();
	test_file_errors();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fails++;
	if (!fails)
		printf("config: all passed\n");
	return fails != 0;
}
