// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fixed-newstyle NBD handshake, done by the kernel itself on every
 * connect: userspace may be swapped out, or dead, when a link comes back.
 * NBD_OPT_GO first (it reports errors, such as an unknown export, without
 * dropping the connection); NBD_OPT_EXPORT_NAME for servers that predate
 * it.  Every length the server sends is bounded before it is read.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>

#include "netswap.h"

/* Nothing we ask for needs a longer option reply; anything longer is hostile. */
#define NS_OPT_REPLY_MAX	(64 * 1024)
#define NS_OPT_REPLIES_MAX	64

struct ns_info_export_body {
	__be64 size;
	__be16 tflags;
} __packed;

struct ns_info_block_body {
	__be32 min_block;
	__be32 pref_block;
	__be32 max_payload;
} __packed;

static int ns_skip(u8 *scratch, struct socket *sock, size_t len)
{
	size_t n;
	int err;

	while (len) {
		n = min_t(size_t, len, NS_SCRATCH);
		err = ns_sock_recv(sock, scratch, n);
		if (err)
			return err;
		len -= n;
	}
	return 0;
}

/* OPT_GO asks for NBD_INFO_BLOCK_SIZE: we honour the server's block sizes. */
static int ns_send_option(struct socket *sock, u32 option, const char *name)
{
	bool bare = option == NBD_OPT_EXPORT_NAME;
	u32 nlen = strlen(name);
	__be16 info_req[2] = { cpu_to_be16(1), cpu_to_be16(NBD_INFO_BLOCK_SIZE) };
	__be32 be_nlen = cpu_to_be32(nlen);
	struct nbd_opt_hdr hdr = {
		.magic	= cpu_to_be64(NBD_OPTS_MAGIC),
		.option	= cpu_to_be32(option),
		.len	= cpu_to_be32(bare ? nlen : 4 + nlen + sizeof(info_req)),
	};
	int err;

	err = ns_sock_send(sock, &hdr, sizeof(hdr), MSG_MORE);
	if (!err && !bare)
		err = ns_sock_send(sock, &be_nlen, sizeof(be_nlen), MSG_MORE);
	if (!err && nlen)
		err = ns_sock_send(sock, name, nlen, bare ? 0 : MSG_MORE);
	if (!err && !bare)
		err = ns_sock_send(sock, info_req, sizeof(info_req), 0);
	return err;
}

static int ns_rep_errno(u32 type)
{
	switch (type) {
	case NBD_REP_ERR_UNSUP:
	case NBD_REP_ERR_PLATFORM:
		return -EOPNOTSUPP;	/* try NBD_OPT_EXPORT_NAME */
	case NBD_REP_ERR_UNKNOWN:
		return -ENOENT;
	case NBD_REP_ERR_POLICY:
		return -EACCES;
	case NBD_REP_ERR_TLS_REQD:
		return -EPROTONOSUPPORT;
	case NBD_REP_ERR_SHUTDOWN:
		return -ESHUTDOWN;
	case NBD_REP_ERR_INVALID:
	case NBD_REP_ERR_TOO_BIG:
		return -EINVAL;
	default:
		return -EPROTO;
	}
}

static int ns_read_info(u8 *scratch, struct socket *sock, u32 len,
			struct ns_export_info *info, bool *have_export)
{
	struct ns_info_export_body e;
	struct ns_info_block_body b;
	__be16 type;
	int err;

	if (len < sizeof(type))
		return -EPROTO;
	err = ns_sock_recv(sock, &type, sizeof(type));
	if (err)
		return err;
	len -= sizeof(type);

	switch (be16_to_cpu(type)) {
	case NBD_INFO_EXPORT:
		if (len != sizeof(e))
			return -EPROTO;
		err = ns_sock_recv(sock, &e, sizeof(e));
		if (err)
			return err;
		info->size = be64_to_cpu(e.size);
		info->tflags = be16_to_cpu(e.tflags);
		*have_export = true;
		return 0;
	case NBD_INFO_BLOCK_SIZE:
		if (len != sizeof(b))
			return -EPROTO;
		err = ns_sock_recv(sock, &b, sizeof(b));
		if (err)
			return err;
		info->min_block = be32_to_cpu(b.min_block);
		info->max_payload = be32_to_cpu(b.max_payload);
		return 0;
	default:
		return ns_skip(scratch, sock, len);
	}
}

static int ns_opt_go(u8 *scratch, struct socket *sock,
		     const char *name, struct ns_export_info *info)
{
	struct nbd_opt_reply_hdr rh;
	bool have_export = false;
	u32 type, len;
	unsigned int i;
	int err;

	err = ns_send_option(sock, NBD_OPT_GO, name);
	if (err)
		return err;

	for (i = 0; i < NS_OPT_REPLIES_MAX; i++) {
		err = ns_sock_recv(sock, &rh, sizeof(rh));
		if (err)
			return err;
		type = be32_to_cpu(rh.type);
		len = be32_to_cpu(rh.len);
		if (be64_to_cpu(rh.magic) != NBD_REP_MAGIC ||
		    be32_to_cpu(rh.option) != NBD_OPT_GO ||
		    len > NS_OPT_REPLY_MAX)
			return -EPROTO;

		if (type & NBD_REP_FLAG_ERROR) {
			err = ns_skip(scratch, sock, len);
			return err ? err : ns_rep_errno(type);
		}
		switch (type) {
		case NBD_REP_ACK:
			return len || !have_export ? -EPROTO : 0;
		case NBD_REP_INFO:
			err = ns_read_info(scratch, sock, len, info, &have_export);
			break;
		default:
			err = ns_skip(scratch, sock, len);
			break;
		}
		if (err)
			return err;
	}
	return -EPROTO;
}

static int ns_opt_export_name(u8 *scratch, struct socket *sock,
			      const char *name, bool zeroes,
			      struct ns_export_info *info)
{
	struct nbd_export_name_reply r;
	int err;

	err = ns_send_option(sock, NBD_OPT_EXPORT_NAME, name);
	if (err)
		return err;
	err = ns_sock_recv(sock, &r, sizeof(r));
	/* The only way this option can say "no such export" is hanging up. */
	if (err == -ECONNRESET)
		return -ENOENT;
	if (err)
		return err;
	if (zeroes) {
		err = ns_skip(scratch, sock, NBD_EXPORT_NAME_ZEROES);
		if (err)
			return err;
	}
	info->size = be64_to_cpu(r.size);
	info->tflags = be16_to_cpu(r.tflags);
	return 0;
}

static int ns_check_info(struct ns_export_info *info)
{
	if (!(info->tflags & NBD_TFLAG_HAS_FLAGS))
		return -EPROTO;
	if (info->size < SECTOR_SIZE || info->size > (U64_MAX >> 1))
		return -EINVAL;
	if (!info->min_block)
		info->min_block = 1;
	if (!is_power_of_2(info->min_block) || info->min_block > NBD_MAX_MIN_BLOCK)
		return -EPROTO;
	if (info->min_block > PAGE_SIZE)
		return -EOPNOTSUPP;
	if (!info->max_payload)
		info->max_payload = NBD_DEFAULT_MAX_PAYLOAD;
	if (info->max_payload < PAGE_SIZE)
		return -EOPNOTSUPP;
	return 0;
}

int ns_handshake(struct ns_leg *leg, struct socket *sock, u8 *scratch,
		 struct ns_export_info *info)
{
	const char *name = leg->cfg->export;
	struct nbd_hello hello;
	bool fixed, nozeroes;
	__be32 cflags;
	u16 hflags;
	int err;

	memset(info, 0, sizeof(*info));
	err = ns_sock_recv(sock, &hello, sizeof(hello));
	if (err)
		return err;
	/* Oldstyle servers and strangers alike: not a server we can speak to. */
	if (be64_to_cpu(hello.init_magic) != NBD_INIT_MAGIC ||
	    be64_to_cpu(hello.opts_magic) != NBD_OPTS_MAGIC)
		return -EPROTO;
	hflags = be16_to_cpu(hello.handshake_flags);
	fixed = hflags & NBD_FLAG_FIXED_NEWSTYLE;
	nozeroes = hflags & NBD_FLAG_NO_ZEROES;

	cflags = cpu_to_be32((fixed ? NBD_FLAG_C_FIXED_NEWSTYLE : 0) |
			     (nozeroes ? NBD_FLAG_C_NO_ZEROES : 0));
	err = ns_sock_send(sock, &cflags, sizeof(cflags), 0);
	if (err)
		return err;

	err = -EOPNOTSUPP;
	if (fixed)
		err = ns_opt_go(scratch, sock, name, info);
	if (err == -EOPNOTSUPP)
		err = ns_opt_export_name(scratch, sock, name, !nozeroes, info);
	if (err)
		return err == -EBADMSG ? -EPROTO : err;
	return ns_check_info(info);
}
