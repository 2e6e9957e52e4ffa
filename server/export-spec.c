// SPDX-License-Identifier: GPL-2.0-only
/*
 * The export SPEC syntax, the same on the command line and in a config
 * file:
 *
 *   NAME=mem:SIZE[,ATTR]...
 *   NAME=file:PATH[:SIZE][,ATTR]...
 *
 * ATTR is allow=CIDR+CIDR..., allow-uid=UID+UID... (numbers or user
 * names), read-only, preallocate, or description=TEXT, which takes the
 * rest of the argument (commas included) and so comes last.  A comma
 * starts the attributes only where one of these words follows it (after
 * blanks, which are dropped), so a path may hold commas; likewise the
 * ":SIZE" at the end of a path is a size only if it parses as one.
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "lib/size.h"
#include "netswapd.h"

static const char *const attr_words[] = {
	"allow=", "allow-uid=", "read-only", "preallocate", "description=",
};

static bool is_attr(const char *s)
{
	for (size_t i = 0; i < sizeof(attr_words) / sizeof(attr_words[0]); i++) {
		const char *w = attr_words[i];
		size_t n = strlen(w);

		if (strncmp(s, w, n))
			continue;
		if (w[n - 1] == '=' || s[n] == ',' || s[n] == '\0')
			return true;
	}
	return false;
}

static const char *skip_blanks(const char *s)
{
	return s + strspn(s, " \t");
}

/* Where the attributes start: the first ",ATTR" (blanks may follow the
 * comma), or the end. */
static const char *find_attrs(const char *s)
{
	for (const char *p = strchr(s, ','); p; p = strchr(p + 1, ','))
		if (is_attr(skip_blanks(p + 1)))
			return p;
	return s + strlen(s);
}

/* The length of s[0..n) without trailing blanks. */
static size_t trimmed(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

int export_spec_parse_id(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v >= 0xffffffffUL)	/* (uid_t)-1 means "none" */
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* "mem:SIZE" or "file:PATH[:SIZE]" */
static int parse_backing(const char *s, struct nsd_export_spec *es)
{
	const char *colon;

	if (!strncmp(s, "mem:", 4)) {
		es->kind = NSD_EXPORT_MEM;
		return size_parse(s + 4, &es->size) || es->size == 0 ? -1 : 0;
	}
	if (!strncmp(s, "rbd:", 4) && s[4]) {	/* rbd.c checks the rest */
		es->kind = NSD_EXPORT_RBD;
		es->path = strdup(s + 4);
		return es->path ? 0 : -1;
	}
	if (strncmp(s, "file:", 5) || !s[5])
		return -1;
	es->kind = NSD_EXPORT_FILE;
	s += 5;
	colon = strrchr(s, ':');
	if (colon && colon != s && !size_parse(colon + 1, &es->size)) {
		if (es->size == 0)
			return -1;
		es->path = strndup(s, (size_t)(colon - s));
	} else {
		es->size = 0;
		es->path = strdup(s);
	}
	return es->path ? 0 : -1;
}

/* "a+b+c" into n items of @size bytes each, by @one. */
static int parse_list(const char *s, size_t slen, void **items, int *n,
		      size_t size, int (*one)(const char *, void *))
{
	char buf[256];

	while (slen) {
		const char *plus = memchr(s, '+', slen);
		size_t k = plus ? (size_t)(plus - s) : slen;
		void *grown;

		if (k == 0 || k >= sizeof(buf) || *n == NSD_MAX_ALLOW)
			return -1;
		memcpy(buf, s, k);
		buf[k] = '\0';
		grown = realloc(*items, (size_t)(*n + 1) * size);
		if (!grown)
			return -1;
		*items = grown;
		if (one(buf, (char *)grown + (size_t)*n * size))
			return -1;
		(*n)++;
		s += plus ? k + 1 : k;
		slen -= plus ? k + 1 : k;
		if (plus && !slen)
			return -1;	/* a trailing '+' */
	}
	return *n ? 0 : -1;
}

static int one_cidr(const char *s, void *out)
{
	return cidr_parse(s, out);
}

static int one_uid(const char *s, void *out)
{
	struct passwd *pw;

	if (!export_spec_parse_id(s, out))
		return 0;
	pw = getpwnam(s);
	if (!pw)
		return -1;
	*(uid_t *)out = pw->pw_uid;
	return 0;
}

static int parse_attr(const char *a, size_t n, struct nsd_export_spec *es,
		      char *why, size_t len)
{
	struct nsd_access *acc = &es->access;

	if (n == 9 && !strncmp(a, "read-only", 9)) {
		es->read_only = true;
	} else if (n == 11 && !strncmp(a, "preallocate", 11)) {
		es->preallocate = true;
	} else if (!strncmp(a, "allow=", 6)) {
		if (parse_list(a + 6, n - 6, (void **)&acc->cidr, &acc->ncidr,
			       sizeof(*acc->cidr), one_cidr)) {
			snprintf(why, len, "bad allow= list '%.*s' (CIDR+CIDR..., at most %d)",
				 (int)(n - 6), a + 6, NSD_MAX_ALLOW);
			return -1;
		}
	} else if (!strncmp(a, "allow-uid=", 10)) {
		if (parse_list(a + 10, n - 10, (void **)&acc->uid, &acc->nuid,
			       sizeof(*acc->uid), one_uid)) {
			snprintf(why, len, "bad allow-uid= list '%.*s' (UID+UID... or user names, at most %d)",
				 (int)(n - 10), a + 10, NSD_MAX_ALLOW);
			return -1;
		}
	} else {
		snprintf(why, len, "unknown attribute '%.*s'", (int)n, a);
		return -1;
	}
	return 0;
}

/* Protocol strings are UTF-8: a name or description that is not would be
 * the clients' problem, so it is the operator's, at start. */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
				 (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : 4;

		if (n == 4 || (n == 1 && *p < 0xc2) ||
		    (n == 3 && *p > 0xf4))
			return false;
		for (unsigned int i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

static int parse_attrs(const char *p, struct nsd_export_spec *es, char *why,
		       size_t len)
{
	while (*p == ',') {
		const char *end;

		p = skip_blanks(p + 1);
		if (!strncmp(p, "description=", 12)) {
			if (strlen(p + 12) > NBD_MAX_STRING) {
				snprintf(why, len, "description longer than %u bytes",
					 NBD_MAX_STRING);
				return -1;
			}
			if (!utf8_valid(p + 12)) {
				snprintf(why, len, "description is not UTF-8");
				return -1;
			}
			free(es->description);
			es->description = strdup(p + 12);
			return es->description ? 0 : -1;
		}
		end = strchrnul(p, ',');
		if (parse_attr(p, trimmed(p, (size_t)(end - p)), es, why, len))
			return -1;
		p = end;
	}
	return 0;
}

int export_spec_parse(const char *arg, struct nsd_export_spec *es,
		      char *why, size_t len)
{
	const char *eq = strchr(arg, '='), *attrs;
	char *backing;
	int rc;

	memset(es, 0, sizeof(*es));
	if (!eq || (size_t)(eq - arg) > NBD_MAX_STRING) {
		snprintf(why, len, "bad SPEC '%s' (NAME=mem:SIZE or NAME=file:PATH[:SIZE], a name of at most %u bytes)",
			 arg, NBD_MAX_STRING);
		return -1;
	}
	es->name = strndup(arg, (size_t)(eq - arg));
	attrs = find_attrs(eq + 1);
	backing = strndup(eq + 1, trimmed(eq + 1, (size_t)(attrs - eq - 1)));
	rc = !es->name || !backing || parse_backing(backing, es);
	free(backing);
	if (rc)
		snprintf(why, len, "bad SPEC '%s' (NAME=mem:SIZE, NAME=file:PATH[:SIZE] or NAME=rbd:POOL/IMAGE)",
			 arg);
	else if (!utf8_valid(es->name))
		rc = snprintf(why, len, "export name is not UTF-8");
	else
		rc = parse_attrs(attrs, es, why, len);
	if (rc)
		export_spec_free(es);	/* nothing half-parsed stays */
	return rc ? -1 : 0;
}

void export_spec_free(struct nsd_export_spec *es)
{
	free(es->name);
	free(es->path);
	free(es->description);
	free(es->access.cidr);
	free(es->access.uid);
	memset(es, 0, sizeof(*es));
}

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool export_spec_same_backing(const struct nsd_export_spec *a,
			      const struct nsd_export_spec *b)
{
	return a->kind == b->kind && a->size == b->size &&
	       a->read_only == b->read_only &&
	       a->preallocate == b->preallocate && same_string(a->path, b->path);
}

static int dup_array(void **to, const void *from, int n, size_t size)
{
	*to = NULL;
	if (!n)
		return 0;
	*to = malloc((size_t)n * size);
	if (!*to)
		return -1;
	memcpy(*to, from, (size_t)n * size);
	return 0;
}

/* A deep copy; on failure @to is left empty (free-safe). */
int export_spec_dup(struct nsd_export_spec *to,
		    const struct nsd_export_spec *from)
{
	*to = *from;
	to->access.cidr = NULL;
	to->access.uid = NULL;
	to->name = strdup(from->name);
	to->path = from->path ? strdup(from->path) : NULL;
	to->description = from->description ? strdup(from->description) : NULL;
	if (dup_array((void **)&to->access.cidr, from->access.cidr,
		      from->access.ncidr, sizeof(*from->access.cidr)) ||
	    dup_array((void **)&to->access.uid, from->access.uid,
		      from->access.nuid, sizeof(*from->access.uid)) ||
	    !to->name || (from->path && !to->path) ||
	    (from->description && !to->description)) {
		export_spec_free(to);
		return -1;
	}
	return 0;
}
