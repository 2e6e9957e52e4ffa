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

static struct nsd_export *find_export(struct nsd_server *srv,
				      const uint8_t *name, uint32_t len)
{
	for (int i = 0; i < srv->nexports; i++) {
		struct nsd_export *e = &srv->exports[i];

		if (strlen(e->name) == len && !memcmp(e->name, name, len))
			return e;
	}
	/* The empty name is the default export: the first one. */
	return len == 0 && srv->nexports ? &srv->exports[0] : NULL;
}

static void enter_transmission(struct nsd_conn *c, struct nsd_export *e)
{
	c->phase = PHASE_TRANSMISSION;
	c->exp = e;
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
	struct nsd_export *e = NULL;
	uint32_t zeroes = (c->client_flags & NBD_FLAG_C_NO_ZEROES)
			  ? 0 : NBD_EXPORT_NAME_ZEROES;
	uint8_t *p;

	if (len <= NBD_MAX_STRING && !memchr(data, 0, len))
		e = find_export(c->srv, data, len);
	if (!e) {
		/* This option cannot report errors: the spec says hang up. */
		conn_fail(c, "EXPORT_NAME of an unknown export");
		return;
	}
	if (conn_reserve(c, e)) {
		conn_fail(c, "no memory left to reserve for another client");
		return;
	}
	r.size = htobe64(e->size);
	r.tflags = htobe16(export_tflags(e, c->structured));
	p = out_room(c, sizeof(r) + zeroes);
	if (!p) {
		conn_fail(c, "handshake reply does not fit");
		return;
	}
	memcpy(p, &r, sizeof(r));
	memset(p + sizeof(r), 0, zeroes);
	enter_transmission(c, e);
}

static void opt_abort(struct nsd_conn *c, const uint8_t *data, uint32_t len)
{
	(void)data;
	(void)len;
	reply(c, NBD_REP_ACK, NULL, 0);
	c->hs = HS_CLOSE_AFTER_FLUSH;
}

/* LIST may not fit one buffer: it resumes from list_next once flushed. */
static void list_continue(struct nsd_conn *c)
{
	struct nsd_server *srv = c->srv;

	while (c->list_next < srv->nexports) {
		struct nsd_export *e = &srv->exports[c->list_next];
		uint32_t nlen = (uint32_t)strlen(e->name);
		uint32_t dlen = e->description ? (uint32_t)strlen(e->description) : 0;
		uint32_t plen = 4 + nlen + dlen;
		uint32_t be = htobe32(nlen);
		uint8_t *p;

		if (c->out_len + sizeof(struct nbd_opt_reply_hdr) + plen > HS_OUT_SIZE)
			return;		/* flushed, then resumed */
		reply(c, NBD_REP_SERVER, NULL, 0);
		p = out_room(c, plen);
		if (!p)
			return;
		/* Patch the header length: the payload was appended after it. */
		be = htobe32(plen);
		memcpy(p - 4, &be, 4);
		be = htobe32(nlen);
		memcpy(p, &be, 4);
		memcpy(p + 4, e->name, nlen);
		if (dlen)
			memcpy(p + 4 + nlen, e->description, dlen);
		c->list_next++;
	}
	if (c->out_len + sizeof(struct nbd_opt_reply_hdr) > HS_OUT_SIZE)
		return;		/* the ACK goes in the next block */
	reply(c, NBD_REP_ACK, NULL, 0);
	c->hs = HS_OPT_HDR;
}

static void opt_list(struct nsd_conn *c, const uint8_t *data, uint32_t len)
{
	(void)data;
	if (len) {
		reply_err(c, NBD_REP_ERR_INVALID, "LIST takes no data");
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

static void opt_info_go(struct nsd_conn *c, const uint8_t *data, uint32_t len)
{
	bool want_name = false, want_desc = false;
	struct nbd_info_block_size bs;
	struct nbd_info_export ie;
	struct nsd_export *e;
	uint32_t nlen;
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
	e = find_export(c->srv, data + 4, nlen);
	if (!e) {
		reply_err(c, NBD_REP_ERR_UNKNOWN, "no such export");
		return;
	}
	/* Admission: only a client whose reserve is granted may start. */
	if (c->opt == NBD_OPT_GO && conn_reserve(c, e)) {
		reply_err(c, NBD_REP_ERR_POLICY,
			  "server full: no memory left to reserve for another client");
		return;
	}
	ie.type = htobe16(NBD_INFO_EXPORT);
	ie.size = htobe64(e->size);
	ie.tflags = htobe16(export_tflags(e, c->structured));
	reply(c, NBD_REP_INFO, &ie, sizeof(ie));
	if (want_name)
		info_string(c, NBD_INFO_NAME, e->name);
	if (want_desc && e->description)
		info_string(c, NBD_INFO_DESCRIPTION, e->description);
	/* Always sent: clients that did not ask may ignore it. */
	bs.type = htobe16(NBD_INFO_BLOCK_SIZE);
	bs.min_block = htobe32(1);
	bs.pref_block = htobe32(NBD_DEFAULT_PREF_BLOCK);
	bs.max_payload = htobe32(c->srv->max_payload);
	reply(c, NBD_REP_INFO, &bs, sizeof(bs));
	reply(c, NBD_REP_ACK, NULL, 0);
	if (c->opt == NBD_OPT_GO && !conn_is_closing(c))
		enter_transmission(c, e);
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
