// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fixed-newstyle handshake as a non-blocking state machine: it reads
 * from the connection's staging buffer (options larger than that go to an
 * arena block), and each option has its own small handler in a table.
 * Replies are built in an arena block that exists only while replies are
 * pending, so a thousand idle clients cost a thousand small structs.
 */
#include <endian.h>
#include <string.h>

#include "netswapd.h"

#define DENY_LOG_BURST 10	/* denials logged per window... */
#define DENY_LOG_MS 10000	/* ...of this long */
#define DENY_NAME_SHOWN 64	/* bytes of a denied name in the log */
#define HS_SHUTDOWN_MS 1000	/* a negotiating client's last second */

struct opt_handler {
	uint32_t opt;
	const char *name;
	void (*fn)(struct nsd_conn *c, const uint8_t *data, uint32_t len);
};

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

/* The reply block is taken before an option is acted on, so replies never
 * fail for want of memory.  0 = wait for memory. */
static int ensure_out(struct nsd_conn *c)
{
	if (c->out)
		return 1;
	c->out = conn_alloc(c, HS_OUT_SIZE, ARENA_CONTROL);
	c->out_len = c->out_off = 0;
	return c->out != NULL;
}

/* Room for @len more reply bytes; every option's replies fit HS_OUT_SIZE
 * (LIST continues after a flush), so NULL means a bug, not a client. */
static uint8_t *out_room(struct nsd_conn *c, uint32_t len)
{
	uint8_t *p;

	if (!c->out || c->out_len + len > HS_OUT_SIZE)
		return NULL;
	p = c->out + c->out_len;
	c->out_len += len;
	return p;
}

/* One option reply.  The caller checked there is room (see opt_dispatch). */
static void reply(struct nsd_conn *c, uint32_t type, const void *data,
		  uint32_t len)
{
	struct nbd_opt_reply_hdr h = {
		.magic = htobe64(NBD_REP_MAGIC),
		.option = htobe32(c->opt),
		.type = htobe32(type),
		.len = htobe32(len),
	};
	uint8_t *p = out_room(c, sizeof(h) + len);

	if (!p) {
		conn_fail(c, "handshake reply does not fit");
		return;
	}
	memcpy(p, &h, sizeof(h));
	if (len)
		memcpy(p + sizeof(h), data, len);
}

static void reply_err(struct nsd_conn *c, uint32_t type, const char *msg)
{
	reply(c, type, msg, (uint32_t)strlen(msg));
}

void hs_start(struct nsd_conn *c)
{
	struct nbd_hello hello = {
		.init_magic = htobe64(NBD_INIT_MAGIC),
		.opts_magic = htobe64(NBD_OPTS_MAGIC),
		.handshake_flags = htobe16(NBD_FLAG_FIXED_NEWSTYLE |
					   NBD_FLAG_NO_ZEROES),
	};
	uint8_t *p;

	c->out = arena_alloc(c->srv->arena, c->owner, HS_OUT_SIZE,
			     ARENA_CONTROL);
	p = out_room(c, sizeof(hello));
	if (!p) {
		conn_fail(c, "no buffer memory for a new client");
		return;
	}
	memcpy(p, &hello, sizeof(hello));
	loop_mark_dirty(c->loop, c);
}

/* A denial is logged, but at most DENY_LOG_BURST lines in DENY_LOG_MS
 * (from all loops together): a scanner must not flood the log. */
static void log_denial(struct nsd_conn *c, const uint8_t *name, uint32_t len)
{
	static atomic_llong window_ms;
	static atomic_uint logged, dropped;
	long long w = atomic_load(&window_ms), now = loop_now_ms();
	char shown[DENY_NAME_SHOWN + 1];
	uint32_t n = len < DENY_NAME_SHOWN ? len : DENY_NAME_SHOWN;

	if (now - w >= DENY_LOG_MS &&
	    atomic_compare_exchange_strong(&window_ms, &w, now)) {
		unsigned int d = atomic_exchange(&dropped, 0);

		atomic_store(&logged, 0);
		if (d)
			log_warn("%u more access denials were not logged", d);
	}
	if (atomic_fetch_add(&logged, 1) >= DENY_LOG_BURST) {
		atomic_fetch_add(&dropped, 1);
		return;
	}
	/* The name is the client's: printable bytes only, and not all. */
	for (uint32_t i = 0; i < n; i++)
		shown[i] = name[i] >= ' ' && name[i] < 0x7f ? (char)name[i] : '?';
	shown[n] = '\0';
	log_warn("%s: denied export '%s%s': not in its allow list", c->peer,
		 shown, len > n ? "..." : "");
}

/* The entry @name names, if this peer may open it; else NULL and the
 * reply for it in @err (unknown, or denied). */
static const struct nsd_entry *lookup(struct nsd_conn *c,
				      const struct nsd_catalog *cat,
				      const uint8_t *name, uint32_t len,
				      uint32_t *err)
{
	const struct nsd_entry *ent = catalog_find(cat, name, len);

	*err = NBD_REP_ERR_UNKNOWN;
	if (ent && !catalog_allows(ent, &c->who)) {
		log_denial(c, name, len);
		*err = NBD_REP_ERR_POLICY;
		ent = NULL;
	}
	return ent;
}

static void enter_transmission(struct nsd_conn *c, struct nsd_export *e)
{
	c->phase = PHASE_TRANSMISSION;
	c->exp = catalog_hold(e);	/* released by conn_destroy() */
	c->tflags = export_tflags(e, c->structured);
	c->deadline_ms = 0;
	c->rx = RX_HDR;
	log_info("%s: serving '%s'%s", c->peer, e->name,
		 c->structured ? " (structured replies)" : "");
}

static void opt_export_name(struct nsd_conn *c, const uint8_t *data,
			    uint32_t len)
{
	struct nbd_export_name_reply r;
	struct nsd_catalog *cat = catalog_get(c->srv);
	const struct nsd_entry *ent = NULL;
	uint32_t zeroes = (c->client_flags & NBD_FLAG_C_NO_ZEROES)
			  ? 0 : NBD_EXPORT_NAME_ZEROES;
	uint8_t *p = NULL;
	uint32_t err;

	if (len <= NBD_MAX_STRING && !memchr(data, 0, len))
		ent = lookup(c, cat, data, len, &err);
	/* This option cannot report errors: the spec says hang up. */
	if (!ent)
		conn_fail(c, "EXPORT_NAME of an unknown or denied export");
	else if (ent->exp->rbd && rbd_export_unavailable(ent->exp))
		conn_fail(c, rbd_export_unavailable(ent->exp));
	else if (conn_reserve(c, ent->exp))
		conn_fail(c, "no memory left to reserve for another client");
	else if (!(p = out_room(c, sizeof(r) + zeroes)))
		conn_fail(c, "handshake reply does not fit");
	if (conn_is_closing(c))
		goto out;
	r.size = htobe64(ent->exp->size);
	r.tflags = htobe16(export_tflags(ent->exp, c->structured));
	memcpy(p, &r, sizeof(r));
	memset(p + sizeof(r), 0, zeroes);
	enter_transmission(c, ent->exp);
out:
	catalog_put(c->srv, cat);
}

static void opt_abort(struct nsd_conn *c, const uint8_t *data, uint32_t len)
{
	(void)data;
	(void)len;
	reply(c, NBD_REP_ACK, NULL, 0);
	c->hs = HS_CLOSE_AFTER_FLUSH;
}

/* LIST may not fit one buffer: it resumes from list_next once flushed. */
/* One NBD_REP_SERVER; false if it does not fit the reply block now. */
static bool list_one(struct nsd_conn *c, const struct nsd_entry *ent)
{
	uint32_t nlen = (uint32_t)strlen(ent->spec.name);
	uint32_t dlen = (uint32_t)strlen(ent->description);
	uint32_t plen = 4 + nlen + dlen;
	uint32_t be;
	uint8_t *p;

	if (c->out_len + sizeof(struct nbd_opt_reply_hdr) + plen > HS_OUT_SIZE)
		return false;
	reply(c, NBD_REP_SERVER, NULL, 0);
	p = out_room(c, plen);
	if (!p)
		return false;
	/* Patch the header length: the payload was appended after it. */
	be = htobe32(plen);
	memcpy(p - 4, &be, 4);
	be = htobe32(nlen);
	memcpy(p, &be, 4);
	memcpy(p + 4, ent->spec.name, nlen);
	memcpy(p + 4 + nlen, ent->description, dlen);
	return true;
}

/* LIST shows a peer only what it may open.  It may not fit one buffer: it
 * resumes from list_next once flushed (from the catalog of that moment: a
 * reload in between may show the next configuration's tail). */
static void list_continue(struct nsd_conn *c)
{
	struct nsd_catalog *cat = catalog_get(c->srv);

	for (; c->list_next < cat->n; c->list_next++) {
		const struct nsd_entry *ent = &cat->ent[c->list_next];

		if (catalog_allows(ent, &c->who) && !list_one(c, ent))
			goto out;	/* flushed, then resumed */
	}
	if (c->out_len + sizeof(struct nbd_opt_reply_hdr) > HS_OUT_SIZE)
		goto out;	/* the ACK goes in the next block */
	reply(c, NBD_REP_ACK, NULL, 0);
	c->hs = HS_OPT_HDR;
out:
	catalog_put(c->srv, cat);
}

static void opt_list(struct nsd_conn *c, const uint8_t *data, uint32_t len)
{
	struct nsd_catalog *cat;
	bool no_list;

	(void)data;
	if (len) {
		reply_err(c, NBD_REP_ERR_INVALID, "LIST takes no data");
		return;
	}
	cat = catalog_get(c->srv);
	no_list = cat->no_list;
	catalog_put(c->srv, cat);
	if (no_list) {
		reply_err(c, NBD_REP_ERR_POLICY, "LIST is disabled on this server");
		return;
	}
	c->list_next = 0;
	c->hs = HS_LISTING;
	list_continue(c);
}

static void opt_structured_reply(struct nsd_conn *c, const uint8_t *data,
				 uint32_t len)
{
	(void)data;
	if (len) {
		reply_err(c, NBD_REP_ERR_INVALID,
			  "STRUCTURED_REPLY takes no data");
		return;
	}
	c->structured = true;
	reply(c, NBD_REP_ACK, NULL, 0);
}

static void info_string(struct nsd_conn *c, uint16_t type, const char *s)
{
	uint8_t buf[2 + NBD_MAX_STRING];
	uint32_t n = (uint32_t)strlen(s);
	uint16_t t = htobe16(type);

	memcpy(buf, &t, 2);
	memcpy(buf + 2, s, n);
	reply(c, NBD_REP_INFO, buf, 2 + n);
}

/* INFO's and GO's replies for an export the peer may open. */
static void info_replies(struct nsd_conn *c, const struct nsd_entry *ent,
			 bool want_name, bool want_desc)
{
	struct nbd_info_block_size bs;
	struct nbd_info_export ie;

	ie.type = htobe16(NBD_INFO_EXPORT);
	ie.size = htobe64(ent->exp->size);
	ie.tflags = htobe16(export_tflags(ent->exp, c->structured));
	reply(c, NBD_REP_INFO, &ie, sizeof(ie));
	if (want_name)
		info_string(c, NBD_INFO_NAME, ent->spec.name);
	if (want_desc)
		info_string(c, NBD_INFO_DESCRIPTION, ent->description);
	/* Always sent: clients that did not ask may ignore it. */
	bs.type = htobe16(NBD_INFO_BLOCK_SIZE);
	bs.min_block = htobe32(1);
	bs.pref_block = htobe32(NBD_DEFAULT_PREF_BLOCK);
	bs.max_payload = htobe32(c->srv->max_payload);
	reply(c, NBD_REP_INFO, &bs, sizeof(bs));
	reply(c, NBD_REP_ACK, NULL, 0);
}

static void opt_info_go(struct nsd_conn *c, const uint8_t *data, uint32_t len)
{
	bool want_name = false, want_desc = false;
	const struct nsd_entry *ent;
	struct nsd_catalog *cat;
	uint32_t nlen, err;
	uint16_t nreq;

	if (len < 6 || (nlen = get32(data)) > len - 6) {
		reply_err(c, NBD_REP_ERR_INVALID, "malformed INFO/GO request");
		return;
	}
	nreq = get16(data + 4 + nlen);
	if (len != 4 + nlen + 2 + 2U * nreq) {
		reply_err(c, NBD_REP_ERR_INVALID,
			  "INFO/GO length does not match its content");
		return;
	}
	if (nlen > NBD_MAX_STRING || memchr(data + 4, 0, nlen)) {
		reply_err(c, NBD_REP_ERR_INVALID,
			  "export name too long or contains NUL");
		return;
	}
	for (uint16_t i = 0; i < nreq; i++) {
		uint16_t t = get16(data + 4 + nlen + 2 + 2 * i);

		want_name |= t == NBD_INFO_NAME;
		want_desc |= t == NBD_INFO_DESCRIPTION;
	}
	cat = catalog_get(c->srv);
	ent = lookup(c, cat, data + 4, nlen, &err);
	if (!ent)
		reply_err(c, err, err == NBD_REP_ERR_POLICY ? "access denied"
							    : "no such export");
	/* An RBD gateway without the image's lock: the client tries the
	 * next gateway. */
	else if (ent->exp->rbd && rbd_export_unavailable(ent->exp))
		reply_err(c, NBD_REP_ERR_UNKNOWN, rbd_export_unavailable(ent->exp));
	/* Admission: only a client whose reserve is granted may start. */
	else if (c->opt == NBD_OPT_GO && conn_reserve(c, ent->exp))
		reply_err(c, NBD_REP_ERR_POLICY,
			  "server full: no memory left to reserve for another client");
	else {
		info_replies(c, ent, want_name, want_desc);
		if (c->opt == NBD_OPT_GO && !conn_is_closing(c))
			enter_transmission(c, ent->exp);
	}
	catalog_put(c->srv, cat);
}

static const struct opt_handler handlers[] = {
	{ NBD_OPT_EXPORT_NAME, "EXPORT_NAME", opt_export_name },
	{ NBD_OPT_ABORT, "ABORT", opt_abort },
	{ NBD_OPT_LIST, "LIST", opt_list },
	{ NBD_OPT_INFO, "INFO", opt_info_go },
	{ NBD_OPT_GO, "GO", opt_info_go },
	{ NBD_OPT_STRUCTURED_REPLY, "STRUCTURED_REPLY", opt_structured_reply },
};

static void opt_dispatch(struct nsd_conn *c, const uint8_t *data)
{
	c->hs = HS_OPT_HDR;
	if (atomic_load(&c->srv->shutting_down) && c->opt != NBD_OPT_ABORT) {
		if (c->opt == NBD_OPT_EXPORT_NAME) {
			conn_fail(c, "EXPORT_NAME while shutting down");
			return;
		}
		reply_err(c, NBD_REP_ERR_SHUTDOWN, "server shutting down");
		c->hs = HS_CLOSE_AFTER_FLUSH;
		return;
	}
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (handlers[i].opt == c->opt) {
			handlers[i].fn(c, data, c->opt_len);
			return;
		}
	}
	reply_err(c, NBD_REP_ERR_UNSUP, "option not supported");
}

/* Make @n bytes available in the staging buffer.  1 = there, 0 = wait. */
static int need(struct nsd_conn *c, uint32_t n)
{
	while (c->rx_end - c->rx_start < n)
		if (!c->can_read || conn_fill_staging(c) <= 0)
			return 0;
	return 1;
}

static int read_client_flags(struct nsd_conn *c)
{
	uint32_t flags;

	if (!need(c, 4))
		return 0;
	flags = get32(c->rxbuf + c->rx_start);
	conn_take_staged(c, NULL, 4);
	if (flags & ~NBD_FLAG_C_KNOWN) {
		conn_fail(c, "unknown client flags");
		return -1;
	}
	c->client_flags = flags;
	c->hs = HS_OPT_HDR;
	return 1;
}

static int read_opt_hdr(struct nsd_conn *c)
{
	struct nbd_opt_hdr h;

	if (!need(c, sizeof(h)))
		return 0;
	conn_take_staged(c, &h, sizeof(h));
	if (be64toh(h.magic) != NBD_OPTS_MAGIC) {
		conn_fail(c, "bad option magic");
		return -1;
	}
	c->opt = be32toh(h.option);
	c->opt_len = be32toh(h.len);
	c->opt_got = 0;
	if (c->opt_len <= HS_OPT_MAX) {
		c->hs = HS_OPT_DATA;
	} else if (c->opt == NBD_OPT_EXPORT_NAME) {
		conn_fail(c, "EXPORT_NAME too long");
		return -1;
	} else {
		c->discard_left = c->opt_len;
		c->hs = HS_OPT_DISCARD;
	}
	return 1;
}

/* Small options are parsed in the staging buffer; larger ones (long export
 * names) are collected in an arena block. */
static int read_opt_data(struct nsd_conn *c)
{
	if (c->opt_len <= CONN_RXBUF) {
		if (!need(c, c->opt_len) || !ensure_out(c))
			return 0;
		c->rx_start += c->opt_len;
		opt_dispatch(c, c->rxbuf + c->rx_start - c->opt_len);
		if (c->rx_start == c->rx_end)
			c->rx_start = c->rx_end = 0;
		return 1;
	}
	if (!c->opt_buf &&
	    !(c->opt_buf = conn_alloc(c, HS_OPT_MAX, ARENA_CONTROL)))
		return 0;
	c->opt_got += (uint32_t)conn_take_staged(c, c->opt_buf + c->opt_got,
						 c->opt_len - c->opt_got);
	while (c->opt_got < c->opt_len) {
		ssize_t n;

		if (!c->can_read)
			return 0;
		n = conn_recv(c, c->opt_buf + c->opt_got, c->opt_len - c->opt_got);
		if (n <= 0)
			return 0;
		c->opt_got += (uint32_t)n;
	}
	if (!ensure_out(c))
		return 0;
	opt_dispatch(c, c->opt_buf);
	/* A failed EXPORT_NAME closes the connection, which already gave the
	 * block back. */
	if (c->opt_buf) {
		conn_free(c, c->opt_buf);
		c->opt_buf = NULL;
	}
	return 1;
}

/* One step of the state machine: 1 = progress, 0 = wait, -1 = closed. */
static int hs_step(struct nsd_conn *c)
{
	int rc;

	switch (c->hs) {
	case HS_CLIENT_FLAGS:
		return read_client_flags(c);
	case HS_OPT_HDR:
		return read_opt_hdr(c);
	case HS_OPT_DATA:
		return read_opt_data(c);
	case HS_OPT_DISCARD:
		rc = conn_discard(c);
		if (rc <= 0 || !ensure_out(c))
			return rc;
		c->hs = HS_OPT_HDR;
		reply_err(c, NBD_REP_ERR_TOO_BIG, "option data too large");
		return 1;
	case HS_LISTING:
		if (!ensure_out(c))
			return 0;
		list_continue(c);
		return c->hs == HS_LISTING ? 0 : 1;
	case HS_CLOSE_AFTER_FLUSH:
		if (c->out_len)
			return 0;
		conn_drain(c);
		return -1;
	}
	return -1;
}

/* The server stops: a negotiating client gets NBD_REP_ERR_SHUTDOWN for
 * the option it has sent or sends within HS_SHUTDOWN_MS; then it is
 * closed (check_timers), so it cannot hold the stop up. */
void hs_shutdown(struct nsd_conn *c)
{
	int64_t soon = loop_now_ms() + HS_SHUTDOWN_MS;

	if (!c->deadline_ms || c->deadline_ms > soon)
		c->deadline_ms = soon;
	loop_mark_ready(c->loop, c);
}

void hs_process(struct nsd_conn *c)
{
	while (!conn_is_closing(c) && c->phase == PHASE_HANDSHAKE) {
		/* Clients wait for each reply; one that does not, waits here. */
		if (c->out_len && c->hs != HS_LISTING &&
		    c->hs != HS_CLOSE_AFTER_FLUSH) {
			c->rx_wait |= RX_WAIT_OUT;
			loop_mark_dirty(c->loop, c);
			return;
		}
		if (c->rx_wait & RX_WAIT_POOL)
			return;
		if (hs_step(c) <= 0)
			break;
	}
	if (c->phase == PHASE_TRANSMISSION && !conn_is_closing(c))
		loop_mark_ready(c->loop, c);	/* requests may be staged */
	if (c->out_len)
		loop_mark_dirty(c->loop, c);
}
