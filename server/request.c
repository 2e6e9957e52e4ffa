// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transmission requests: validate a header, run it, build its reply.
 * Memory exports run on the loop thread with the payload in place (reads
 * reply straight from the mapping, writes are received into it); file
 * exports try a non-blocking read/write on the loop and hand everything that
 * could block to a worker.  Errors follow the spec: EINVAL for bad flags,
 * unknown commands and reads past the end, ENOSPC for writes past the end,
 * EPERM for writes to a read-only export.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "netswapd.h"

/* Memory-export TRIM/WRITE_ZEROES above this size go to a worker: releasing
 * gigabytes of pages takes long enough to stall the loop's other clients. */
#define INLINE_ZERO_MAX (16ULL << 20)

static bool is_write_type(uint16_t type)
{
	return type == NBD_CMD_WRITE || type == NBD_CMD_TRIM ||
	       type == NBD_CMD_WRITE_ZEROES;
}

static uint32_t validate(const struct nsd_conn *c, const struct nsd_req *r)
{
	const struct nsd_export *e = c->exp;
	uint16_t allowed = NBD_CMD_FLAG_FUA;

	/* A flag is valid only where documented and advertised. */
	switch (r->type) {
	case NBD_CMD_READ:
		if (c->tflags & NBD_TFLAG_SEND_DF)
			allowed |= NBD_CMD_FLAG_DF;
		break;
	case NBD_CMD_WRITE:
	case NBD_CMD_FLUSH:
	case NBD_CMD_TRIM:
	case NBD_CMD_CACHE:
		break;
	case NBD_CMD_WRITE_ZEROES:
		allowed |= NBD_CMD_FLAG_NO_HOLE;
		if (c->tflags & NBD_TFLAG_SEND_FAST_ZERO)
			allowed |= NBD_CMD_FLAG_FAST_ZERO;
		break;
	default:
		return NBD_EINVAL;
	}
	if (r->flags & ~allowed)
		return NBD_EINVAL;
	if (r->type == NBD_CMD_FLUSH)
		return (r->offset || r->len) ? NBD_EINVAL : 0;
	if (is_write_type(r->type) && e->read_only)
		return NBD_EPERM;
	if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) &&
	    r->len > c->srv->max_payload)
		return NBD_EINVAL;
	if (r->len > e->size || r->offset > e->size - r->len)
		return (r->type == NBD_CMD_WRITE ||
			r->type == NBD_CMD_WRITE_ZEROES) ? NBD_ENOSPC : NBD_EINVAL;
	return 0;
}

static const char *error_message(const struct nsd_req *r)
{
	switch (r->error) {
	case NBD_EPERM:
		return "the export is read-only";
	case NBD_ENOSPC:
		return "write beyond the end of the export";
	case NBD_ENOTSUP:
		return "zeroing would not be faster than writing";
	case NBD_EINVAL:
		if (r->type > NBD_CMD_WRITE_ZEROES || r->type == NBD_CMD_DISC)
			return "unknown command";
		return "invalid flags, length or offset";
	case NBD_ESHUTDOWN:
		return "the server is shutting down";
	default:
		return "I/O error";
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* A structured chunk header; @plen is its payload length. */
static uint8_t *chunk_hdr(struct nsd_req *r, uint16_t type, uint32_t plen)
{
	put32(r->hdr, NBD_CHUNK_MAGIC);
	put16(r->hdr + 4, NBD_REPLY_FLAG_DONE);
	put16(r->hdr + 6, type);
	put64(r->hdr + 8, r->cookie);
	put32(r->hdr + 16, plen);
	return r->hdr + sizeof(struct nbd_chunk_hdr);
}

static void build_reply(struct nsd_req *r)
{
	bool structured = r->conn->structured;

	if (r->type != NBD_CMD_READ || r->error) {
		r->data = NULL;
		r->data_len = 0;
	}
	if (structured && r->error) {
		const char *msg = error_message(r);
		uint16_t mlen = (uint16_t)strlen(msg);
		uint8_t *p = chunk_hdr(r, NBD_REPLY_TYPE_ERROR, 6U + mlen);

		put32(p, r->error);
		put16(p + 4, mlen);
		r->hdr_len = sizeof(struct nbd_chunk_hdr) + 6;
		r->data = msg;
		r->data_len = mlen;
	} else if (structured && r->type == NBD_CMD_READ && r->data_len) {
		uint8_t *p = chunk_hdr(r, NBD_REPLY_TYPE_OFFSET_DATA,
				       8U + r->data_len);

		put64(p, r->offset);
		r->hdr_len = sizeof(struct nbd_chunk_hdr) + 8;
	} else if (structured && r->type == NBD_CMD_READ) {
		/* A zero-length read: no content chunk can describe it. */
		chunk_hdr(r, NBD_REPLY_TYPE_NONE, 0);
		r->hdr_len = sizeof(struct nbd_chunk_hdr);
	} else {
		put32(r->hdr, NBD_SIMPLE_REPLY_MAGIC);
		put32(r->hdr + 4, r->error);
		put64(r->hdr + 8, r->cookie);
		r->hdr_len = sizeof(struct nbd_simple_reply_hdr);
	}
}

/*
 * Only errors the spec allows for the command reach the client: EOVERFLOW
 * belongs to a READ with DF, ENOTSUP to a WRITE_ZEROES with FAST_ZERO,
 * and ENOMEM should never be sent.  What the OS said otherwise becomes
 * EINVAL (the request cannot be done) or EIO (it failed).
 */
static uint32_t spec_error(const struct nsd_req *r, uint32_t error)
{
	switch (error) {
	case 0:
	case NBD_EPERM:
	case NBD_EIO:
	case NBD_EINVAL:
	case NBD_ENOSPC:
	case NBD_ESHUTDOWN:
		return error;
	case NBD_EOVERFLOW:
		return r->type == NBD_CMD_READ && (r->flags & NBD_CMD_FLAG_DF)
		       ? error : NBD_EINVAL;
	case NBD_ENOTSUP:
		return r->type == NBD_CMD_WRITE_ZEROES &&
		       (r->flags & NBD_CMD_FLAG_FAST_ZERO) ? error : NBD_EINVAL;
	default:
		return NBD_EIO;
	}
}

/* The request is done (or failed): queue its reply. */
static void complete(struct nsd_req *r, uint32_t error)
{
	r->error = spec_error(r, error);
	build_reply(r);
	conn_queue_reply(r->conn, r);
}

void req_finish(struct nsd_req *r)
{
	struct nsd_conn *c = r->conn;
	uint32_t error = r->error;

	if (c->closing >= CONN_ABORTED) {
		conn_release_req(c, r);
		return;
	}
	complete(r, error);
	/* The export stopped serving (an RBD gateway lost its lock): the
	 * client goes elsewhere. */
	if (error == NBD_ESHUTDOWN)
		conn_drain(c);
}

/* Runs on a worker thread: everything here may block. */
void req_execute_blocking(struct nsd_req *r)
{
	struct nsd_export *e = r->conn->exp;
	bool fua = r->flags & NBD_CMD_FLAG_FUA;

	/* The server stops: what has not started does not start. */
	if (atomic_load_explicit(&r->conn->srv->shutting_down,
				 memory_order_relaxed)) {
		r->error = NBD_ESHUTDOWN;
		loop_post_completion(r->conn->loop, r);
		return;
	}
	switch (r->type) {
	case NBD_CMD_READ:
		r->error = (uint32_t)export_read(e, r->buf, r->offset,
						 (uint32_t)r->len);
		r->data = r->buf;	/* the reply carries it */
		r->data_len = (uint32_t)r->len;
		break;
	case NBD_CMD_WRITE:
		r->error = (uint32_t)export_write(e, r->buf, r->offset,
						  (uint32_t)r->len, fua);
		break;
	case NBD_CMD_FLUSH:
		r->error = (uint32_t)export_flush(e);
		break;
	case NBD_CMD_TRIM:
		r->error = (uint32_t)export_trim(e, r->offset, r->len, fua);
		break;
	case NBD_CMD_WRITE_ZEROES:
		r->error = (uint32_t)export_zero(e, r->offset, r->len, r->flags);
		break;
	case NBD_CMD_CACHE:
		r->error = (uint32_t)export_cache(e, r->offset, r->len);
		break;
	}
	loop_post_completion(r->conn->loop, r);
}

static void to_worker(struct nsd_req *r)
{
	workers_submit(r->conn->srv->workers, r);
}

/* A write's payload has fully arrived (in the mapping or an arena buffer). */
void req_payload_done(struct nsd_conn *c, struct nsd_req *r)
{
	int rc;

	(void)c;
	if (r->error || r->conn->exp->kind == NSD_EXPORT_MEM) {
		complete(r, r->error);
		return;
	}
	if (r->conn->exp->kind == NSD_EXPORT_RBD) {
		rbd_submit(r);
		return;
	}
	if (r->flags & NBD_CMD_FLAG_FUA) {
		to_worker(r);
		return;
	}
	rc = export_try_write(r->conn->exp, r->buf, r->offset, (uint32_t)r->len);
	if (rc == -EAGAIN)
		to_worker(r);
	else
		complete(r, (uint32_t)rc);
}

/* Start receiving a write's payload into @dst: staged bytes first. */
static void start_payload(struct nsd_conn *c, struct nsd_req *r, char *dst)
{
	size_t got = conn_take_staged(c, dst, r->len);

	if (got == r->len) {
		req_payload_done(c, r);
		return;
	}
	c->rx_req = r;
	c->rx_dst = dst + got;
	c->rx_left = r->len - got;
	c->rx = RX_PAYLOAD;
	c->rx_progress_ms = c->loop->now_ms;
}

static void run_mem(struct nsd_conn *c, struct nsd_req *r)
{
	struct nsd_export *e = c->exp;

	switch (r->type) {
	case NBD_CMD_READ:
		r->data = e->map + r->offset;
		r->data_len = (uint32_t)r->len;
		complete(r, 0);
		return;
	case NBD_CMD_WRITE:
		start_payload(c, r, e->map + r->offset);
		return;
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		if (r->len > INLINE_ZERO_MAX) {
			to_worker(r);
			return;
		}
		complete(r, r->type == NBD_CMD_TRIM
			    ? (uint32_t)export_trim(e, r->offset, r->len, false)
			    : (uint32_t)export_zero(e, r->offset, r->len,
						    r->flags));
		return;
	default:		/* FLUSH, CACHE: memory is as durable as it gets */
		complete(r, 0);
	}
}

static void run_file(struct nsd_conn *c, struct nsd_req *r)
{
	int rc;

	switch (r->type) {
	case NBD_CMD_READ:
		rc = export_try_read(c->exp, r->buf, r->offset, (uint32_t)r->len);
		if (rc == -EAGAIN) {
			to_worker(r);
			return;
		}
		r->data = r->buf;
		r->data_len = (uint32_t)r->len;
		complete(r, (uint32_t)rc);
		return;
	case NBD_CMD_WRITE:
		start_payload(c, r, r->buf);
		return;
	default:
		to_worker(r);
	}
}

static bool needs_buffer(const struct nsd_conn *c, const struct nsd_req *r)
{
	return c->exp->kind != NSD_EXPORT_MEM && !r->error && r->len &&
	       (r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE);
}

/* A refused write still sends its payload: skip it, then answer (a client
 * may not expect a reply to a request it is still sending: libnbd drops
 * the connection, "no matching cookie").  A payload too big to be
 * anything but an attack is not skipped: the reply goes out at once, and
 * the connection closes after a linger that swallows what follows, so the
 * client reads its reply before the close. */
static void refuse(struct nsd_conn *c, struct nsd_req *r)
{
	if (r->type == NBD_CMD_WRITE && r->len &&
	    r->len <= NBD_DEFAULT_MAX_PAYLOAD) {
		c->discard_left = r->len;
		c->rx = RX_DISCARD;
		c->rx_req = r;	/* answered by req_payload_done() */
		return;
	}
	complete(r, r->error);
	if (r->type == NBD_CMD_WRITE && r->len)
		conn_drain(c);
}

int req_dispatch(struct nsd_conn *c, const struct nbd_req_hdr *h)
{
	struct nsd_req *r;

	if (be32toh(h->magic) != NBD_REQ_MAGIC) {
		conn_fail(c, "bad request magic");
		return -1;
	}
	if (be16toh(h->type) == NBD_CMD_DISC) {
		/* Finish what is in flight, then close: no reply. */
		conn_drain(c);
		return 1;
	}
	r = conn_get_req(c);
	if (!r)
		return 0;
	r->t_read_us = c->loop->now_us;
	r->cookie = be64toh(h->cookie);
	r->offset = be64toh(h->offset);
	r->len = be32toh(h->len);
	r->type = be16toh(h->type);
	r->flags = be16toh(h->flags);
	r->error = validate(c, r);
	if (!r->error && c->loop->stopping)
		r->error = NBD_ESHUTDOWN;
	if (needs_buffer(c, r)) {
		r->buf_len = arena_block_size(c->srv->arena, r->len);
		if (c->pool_held + r->buf_len > c->srv->conn_pool_quota) {
			c->rx_wait |= RX_WAIT_QUOTA;
			r->buf_len = 0;
		} else {
			r->buf = conn_alloc(c, r->len, 0);
		}
		if (!r->buf) {
			conn_unget_req(c, r);
			return 0;
		}
		c->pool_held += r->buf_len;
	}
	if (r->error)
		refuse(c, r);
	else if (c->exp->kind == NSD_EXPORT_MEM)
		run_mem(c, r);
	else if (c->exp->kind == NSD_EXPORT_RBD && r->type != NBD_CMD_WRITE)
		rbd_submit(r);	/* librbd runs it, the loop answers it */
	else
		run_file(c, r);
	return 1;
}
