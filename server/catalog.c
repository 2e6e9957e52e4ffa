// SPDX-License-Identifier: GPL-2.0-only
/*
 * The catalog: the exports clients may see and open, with who may open
 * each.  It is built whole from a configuration and swapped in whole
 * (start, SIGHUP), so a handshake sees one configuration or the next,
 * never a mix.  Handshakes take a reference to the catalog for the length
 * of an option; a connection that enters transmission takes a reference to
 * its export, so an export removed or changed by a reload lives on for the
 * clients that use it and is closed (synced first) when the last leaves.
 * Closing happens on the main thread (catalog_reap), never on a loop: an
 * fdatasync may take seconds.
 *
 * A reload keeps an export's open file or mapping when its backing is the
 * same (kind, path, size, mode): only its access and description change,
 * and its clients notice nothing.  Otherwise it opens a new one; a file
 * still open for the clients of the old one passes its lock (flock) to the
 * new one, and both serve the same page cache.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/size.h"
#include "netswapd.h"

/* An open export and its references; conns point at .exp. */
struct nsd_held {
	struct nsd_export exp;		/* first: c->exp points here */
	atomic_uint refs;
	bool unlocked;			/* its flock went to a newer export */
	struct nsd_held *prev, *next;	/* srv->held: every open one */
};

static struct nsd_held *held_of(struct nsd_export *e)
{
	return (struct nsd_held *)((char *)e - offsetof(struct nsd_held, exp));
}

int catalog_init(struct nsd_server *srv)
{
	pthread_mutex_init(&srv->catalog_lock, NULL);
	srv->reap_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return srv->reap_fd < 0 ? -1 : 0;
}

struct nsd_export *catalog_hold(struct nsd_export *e)
{
	atomic_fetch_add(&held_of(e)->refs, 1);
	return e;
}

/* The last reference queues the export for catalog_reap(). */
void catalog_release(struct nsd_server *srv, struct nsd_export *e)
{
	struct nsd_held *h = held_of(e);
	uint64_t one = 1;

	if (atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	pthread_mutex_lock(&srv->catalog_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		srv->held = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = NULL;
	h->next = srv->retired;
	srv->retired = h;
	pthread_mutex_unlock(&srv->catalog_lock);
	if (write(srv->reap_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("catalog: eventfd: %s", strerror(errno));
}

/* Main thread: sync and close exports nobody uses any more.  Returns how
 * many syncs failed. */
int catalog_reap(struct nsd_server *srv)
{
	struct nsd_held *h;
	uint64_t v;
	int failed = 0;

	if (read(srv->reap_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("catalog: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&srv->catalog_lock);
	h = srv->retired;
	srv->retired = NULL;
	pthread_mutex_unlock(&srv->catalog_lock);
	while (h) {
		struct nsd_held *next = h->next;

		if (export_sync(&h->exp)) {
			log_err("export '%s': fdatasync failed", h->exp.name);
			failed++;
		}
		if (!atomic_load(&srv->shutting_down))
			log_info("export '%s' closed: no catalog or client uses it",
				 h->exp.name);
		export_close(&h->exp);
		free(h);
		h = next;
	}
	return failed;
}

struct nsd_catalog *catalog_get(struct nsd_server *srv)
{
	struct nsd_catalog *cat;

	pthread_mutex_lock(&srv->catalog_lock);
	cat = srv->catalog;
	atomic_fetch_add(&cat->refs, 1);
	pthread_mutex_unlock(&srv->catalog_lock);
	return cat;
}

void catalog_put(struct nsd_server *srv, struct nsd_catalog *cat)
{
	if (!cat || atomic_fetch_sub(&cat->refs, 1) != 1)
		return;
	for (int i = 0; i < cat->n; i++) {
		if (cat->ent[i].exp)
			catalog_release(srv, cat->ent[i].exp);
		export_spec_free(&cat->ent[i].spec);
		free(cat->ent[i].description);
	}
	free(cat);
}

const struct nsd_entry *catalog_find(const struct nsd_catalog *cat,
				     const void *name, size_t len)
{
	for (int i = 0; i < cat->n; i++) {
		const char *n = cat->ent[i].spec.name;

		if (strlen(n) == len && !memcmp(n, name, len))
			return &cat->ent[i];
	}
	return NULL;
}

bool catalog_allows(const struct nsd_entry *ent, const struct nsd_peer *who)
{
	const struct nsd_access *a = &ent->spec.access;

	if (!a->ncidr && !a->nuid)
		return true;
	if (!who->is_unix)
		return a->ncidr &&
		       cidr_allowed(a->cidr, a->ncidr,
				    (const struct sockaddr *)&who->addr);
	for (int i = 0; who->has_cred && i < a->nuid; i++)
		if (a->uid[i] == who->uid)
			return true;
	return false;
}

/* What INFO and LIST say: the operator's words, or size and kind (never
 * the server's path: that is the operator's to tell). */
static char *describe(const struct nsd_export_spec *s,
		      const struct nsd_export *e)
{
	char sz[32], *d;

	if (s->description)
		return strdup(s->description);
	size_format(e->size, sz, sizeof(sz));
	if (asprintf(&d, "%s %s%s", sz,
		     e->kind == NSD_EXPORT_MEM ? "memory" :
		     e->kind == NSD_EXPORT_RBD ? "rbd" : "file",
		     e->read_only ? ", read-only" : "") < 0)
		return NULL;
	return d;
}

/* A reference, unless the last one is already gone (then it is on its way
 * to catalog_reap() and must not come back). */
static bool hold_unless_gone(struct nsd_held *h)
{
	unsigned int refs = atomic_load(&h->refs);

	while (refs)
		if (atomic_compare_exchange_weak(&h->refs, &refs, refs + 1))
			return true;
	return false;
}

/* A live export not kept by the catalog being built holds @path's lock:
 * let it go, so the new export can take it.  Returns what was unlocked,
 * with a reference the builder drops when done with it. */
static struct nsd_held *hand_over_lock(struct nsd_server *srv,
				       const struct nsd_catalog *cat,
				       const char *path)
{
	struct nsd_held *h, *found = NULL, *drop = NULL;
	struct stat want, st;

	if (stat(path, &want))
		return NULL;
	pthread_mutex_lock(&srv->catalog_lock);
	for (h = srv->held; h && !found; h = h->next) {
		bool kept = false;

		if (h->exp.kind != NSD_EXPORT_FILE || h->unlocked ||
		    fstat(h->exp.fd, &st) || st.st_dev != want.st_dev ||
		    st.st_ino != want.st_ino)
			continue;
		for (int i = 0; i < cat->n; i++)
			kept |= cat->ent[i].exp == &h->exp;
		if (kept || !hold_unless_gone(h))
			continue;
		if (flock(h->exp.fd, LOCK_UN)) {
			drop = h;
			break;
		}
		h->unlocked = true;
		found = h;
	}
	pthread_mutex_unlock(&srv->catalog_lock);
	if (drop)	/* outside the lock: it may be the last reference */
		catalog_release(srv, &drop->exp);
	return found;
}

static void take_lock_back(struct nsd_server *srv, struct nsd_held *h)
{
	pthread_mutex_lock(&srv->catalog_lock);
	if (flock(h->exp.fd, (h->exp.read_only ? LOCK_SH : LOCK_EX) | LOCK_NB))
		log_warn("export '%s': could not take its file's lock back: %s",
			 h->exp.name, strerror(errno));
	else
		h->unlocked = false;
	pthread_mutex_unlock(&srv->catalog_lock);
}

static struct nsd_export *open_held(struct nsd_server *srv,
				    const struct nsd_catalog *cat,
				    const struct nsd_export_spec *spec,
				    struct nsd_held **handed)
{
	struct nsd_held *h = calloc(1, sizeof(*h));

	*handed = NULL;
	if (!h) {
		log_err("export '%s': out of memory", spec->name);
		return NULL;
	}
	if (spec->kind == NSD_EXPORT_FILE)
		*handed = hand_over_lock(srv, cat, spec->path);
	if (export_open(&h->exp, spec, spec->read_only)) {
		free(h);
		return NULL;
	}
	atomic_init(&h->refs, 1);
	pthread_mutex_lock(&srv->catalog_lock);
	h->next = srv->held;
	if (h->next)
		h->next->prev = h;
	srv->held = h;
	pthread_mutex_unlock(&srv->catalog_lock);
	return &h->exp;
}

/* The entry for @spec: the old catalog's export if its backing is the same
 * (the first pass), else a newly opened one (the second).  -1: failed,
 * logged. */
static int fill_entry(struct nsd_server *srv, struct nsd_catalog *cat,
		      struct nsd_entry *ent, bool open_new,
		      struct nsd_held **handed)
{
	const struct nsd_entry *old = NULL;

	if (!open_new) {
		if (srv->catalog)
			old = catalog_find(srv->catalog, ent->spec.name,
					   strlen(ent->spec.name));
		if (old && export_spec_same_backing(&old->spec, &ent->spec))
			ent->exp = catalog_hold(old->exp);
		return 0;
	}
	if (ent->exp)
		return 0;
	ent->exp = open_held(srv, cat, &ent->spec, handed);
	return ent->exp ? 0 : -1;
}

/*
 * A catalog for @cfg, sharing what it can with the current one.  NULL if
 * an export could not be opened (logged): then nothing changed, every
 * lock handed over is taken back.
 */
struct nsd_catalog *catalog_build(struct nsd_server *srv,
				  const struct nsd_config *cfg)
{
	struct nsd_catalog *cat = calloc(1, sizeof(*cat));
	struct nsd_held *handed[NSD_MAX_EXPORTS] = { NULL };
	int rc = 0;

	if (!cat)
		return NULL;
	atomic_init(&cat->refs, 1);
	cat->no_list = cfg->no_list;
	for (int i = 0; i < cfg->nexports && !rc; i++, cat->n++)
		rc = export_spec_dup(&cat->ent[i].spec, &cfg->exports[i]);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < cat->n && !rc; i++)
			rc = fill_entry(srv, cat, &cat->ent[i], pass, &handed[i]);
	for (int i = 0; i < cat->n && !rc; i++) {
		cat->ent[i].description = describe(&cat->ent[i].spec,
						   cat->ent[i].exp);
		rc = cat->ent[i].description ? 0 : -1;
	}
	if (rc) {
		catalog_put(srv, cat);
		catalog_reap(srv);	/* what this build opened, closed again */
		cat = NULL;
	}
	for (int i = 0; i < cfg->nexports; i++) {
		if (!handed[i])
			continue;
		if (!cat)
			take_lock_back(srv, handed[i]);
		catalog_release(srv, &handed[i]->exp);
	}
	return cat;
}

/* Swap @cat in; the old one goes when its last handshake lets go.  Logs
 * what changed. */
void catalog_publish(struct nsd_server *srv, struct nsd_catalog *cat)
{
	struct nsd_catalog *old;

	pthread_mutex_lock(&srv->catalog_lock);
	old = srv->catalog;
	srv->catalog = cat;
	pthread_mutex_unlock(&srv->catalog_lock);
	for (int i = 0; old && i < cat->n; i++) {
		const struct nsd_entry *e = &cat->ent[i];
		const struct nsd_entry *o = catalog_find(old, e->spec.name,
							 strlen(e->spec.name));

		if (!o)
			log_info("export '%s' added", e->spec.name);
		else if (o->exp != e->exp)
			log_info("export '%s' changed: new clients get the new one, connected ones keep the old until they leave",
				 e->spec.name);
	}
	for (int i = 0; old && i < old->n; i++)
		if (!catalog_find(cat, old->ent[i].spec.name,
				  strlen(old->ent[i].spec.name)))
			log_info("export '%s' removed: connected clients keep it until they leave",
				 old->ent[i].spec.name);
	catalog_put(srv, old);
}

void catalog_destroy(struct nsd_server *srv)
{
	struct nsd_catalog *cat = srv->catalog;

	srv->catalog = NULL;
	catalog_put(srv, cat);
	if (srv->reap_fd >= 0) {
		catalog_reap(srv);
		close(srv->reap_fd);
	}
	srv->reap_fd = -1;
	pthread_mutex_destroy(&srv->catalog_lock);
}
