/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The NBD wire format, as one definition shared by netswap.ko, netswapd, the
 * netswap CLI and the tests.  Values follow doc/proto.md of the
 * NetworkBlockDevice/nbd project.  Every multi-byte field travels big-endian;
 * the structs describe the bytes on the wire and carry no host-order data.
 *
 * No libc here: the kernel includes this file too.  Names avoid the uapi
 * <linux/nbd.h> ones (struct nbd_request, NBD_REPLY_MAGIC) so both can meet
 * in one translation unit.
 */
#ifndef NETSWAP_PROTO_NBD_H
#define NETSWAP_PROTO_NBD_H

#include <linux/types.h>

#ifdef __KERNEL__
#define NBD_WIRE __packed
#else
#define NBD_WIRE __attribute__((__packed__))
#endif

/* Handshake magics. */
#define NBD_INIT_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_OPTS_MAGIC		0x49484156454f5054ULL	/* "IHAVEOPT" */
#define NBD_OLDSTYLE_MAGIC	0x0000420281861253ULL
#define NBD_REP_MAGIC		0x0003e889045565a9ULL	/* option replies */

/* Transmission magics. */
#define NBD_REQ_MAGIC		0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC	0x67446698U
#define NBD_CHUNK_MAGIC		0x668e33efU	/* structured reply chunk */

/* Handshake flags (server, 16 bits). */
#define NBD_FLAG_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_NO_ZEROES	(1U << 1)

/* Client flags (32 bits). */
#define NBD_FLAG_C_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_C_NO_ZEROES		(1U << 1)
#define NBD_FLAG_C_KNOWN	(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)

/* Transmission flags (16 bits). */
#define NBD_TFLAG_HAS_FLAGS		(1U << 0)
#define NBD_TFLAG_READ_ONLY		(1U << 1)
#define NBD_TFLAG_SEND_FLUSH		(1U << 2)
#define NBD_TFLAG_SEND_FUA		(1U << 3)
#define NBD_TFLAG_ROTATIONAL		(1U << 4)
#define NBD_TFLAG_SEND_TRIM		(1U << 5)
#define NBD_TFLAG_SEND_WRITE_ZEROES	(1U << 6)
#define NBD_TFLAG_SEND_DF		(1U << 7)
#define NBD_TFLAG_CAN_MULTI_CONN	(1U << 8)
#define NBD_TFLAG_SEND_RESIZE		(1U << 9)
#define NBD_TFLAG_SEND_CACHE		(1U << 10)
#define NBD_TFLAG_SEND_FAST_ZERO	(1U << 11)
#define NBD_TFLAG_BLOCK_STAT_PAYLOAD	(1U << 12)

/* Options. */
#define NBD_OPT_EXPORT_NAME		1
#define NBD_OPT_ABORT			2
#define NBD_OPT_LIST			3
#define NBD_OPT_PEEK_EXPORT		4
#define NBD_OPT_STARTTLS		5
#define NBD_OPT_INFO			6
#define NBD_OPT_GO			7
#define NBD_OPT_STRUCTURED_REPLY	8
#define NBD_OPT_LIST_META_CONTEXT	9
#define NBD_OPT_SET_META_CONTEXT	10
#define NBD_OPT_EXTENDED_HEADERS	11

/* Option reply types; errors have bit 31 set. */
#define NBD_REP_ACK			1U
#define NBD_REP_SERVER			2U
#define NBD_REP_INFO			3U
#define NBD_REP_META_CONTEXT		4U
#define NBD_REP_FLAG_ERROR		(1U << 31)
#define NBD_REP_ERR_UNSUP		(NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY		(NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID		(NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM		(NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD		(NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN		(NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN		(NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD	(NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG		(NBD_REP_FLAG_ERROR | 9)
#define NBD_REP_ERR_EXT_HEADER_REQD	(NBD_REP_FLAG_ERROR | 10)

/* Information types inside NBD_REP_INFO (OPT_INFO / OPT_GO). */
#define NBD_INFO_EXPORT		0
#define NBD_INFO_NAME		1
#define NBD_INFO_DESCRIPTION	2
#define NBD_INFO_BLOCK_SIZE	3

/* Commands. */
#define NBD_CMD_READ		0
#define NBD_CMD_WRITE		1
#define NBD_CMD_DISC		2
#define NBD_CMD_FLUSH		3
#define NBD_CMD_TRIM		4
#define NBD_CMD_CACHE		5
#define NBD_CMD_WRITE_ZEROES	6
#define NBD_CMD_BLOCK_STATUS	7
#define NBD_CMD_RESIZE		8

/* Command flags (16 bits). */
#define NBD_CMD_FLAG_FUA	(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE	(1U << 1)
#define NBD_CMD_FLAG_DF		(1U << 2)
#define NBD_CMD_FLAG_REQ_ONE	(1U << 3)
#define NBD_CMD_FLAG_FAST_ZERO	(1U << 4)
#define NBD_CMD_FLAG_PAYLOAD_LEN (1U << 5)

/* Structured reply chunk flags and types. */
#define NBD_REPLY_FLAG_DONE		(1U << 0)
#define NBD_REPLY_TYPE_NONE		0
#define NBD_REPLY_TYPE_OFFSET_DATA	1
#define NBD_REPLY_TYPE_OFFSET_HOLE	2
#define NBD_REPLY_TYPE_BLOCK_STATUS	5
#define NBD_REPLY_TYPE_ERROR_BIT	(1U << 15)
#define NBD_REPLY_TYPE_ERROR		(NBD_REPLY_TYPE_ERROR_BIT | 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET	(NBD_REPLY_TYPE_ERROR_BIT | 2)

/* Error values: fixed by the protocol, not the host's errno. */
#define NBD_EPERM	1
#define NBD_EIO		5
#define NBD_ENOMEM	12
#define NBD_EINVAL	22
#define NBD_ENOSPC	28
#define NBD_EOVERFLOW	75
#define NBD_ENOTSUP	95
#define NBD_ESHUTDOWN	108

/* Limits from the spec's "Conventions" and "Size constraints". */
#define NBD_MAX_STRING		4096U		/* names, messages */
#define NBD_DEFAULT_MAX_PAYLOAD	(32U << 20)	/* 2^25: never a DoS */
#define NBD_DEFAULT_PREF_BLOCK	4096U
#define NBD_MAX_MIN_BLOCK	65536U
#define NBD_EXPORT_NAME_ZEROES	124		/* pad after EXPORT_NAME reply */

/* S: first 18 bytes of a newstyle handshake. */
struct nbd_hello {
	__be64 init_magic;	/* NBD_INIT_MAGIC */
	__be64 opts_magic;	/* NBD_OPTS_MAGIC */
	__be16 handshake_flags;
} NBD_WIRE;

/* C: option request header, followed by @len bytes of data. */
struct nbd_opt_hdr {
	__be64 magic;		/* NBD_OPTS_MAGIC */
	__be32 option;
	__be32 len;
} NBD_WIRE;

/* S: option reply header, followed by @len bytes of data. */
struct nbd_opt_reply_hdr {
	__be64 magic;		/* NBD_REP_MAGIC */
	__be32 option;
	__be32 type;
	__be32 len;
} NBD_WIRE;

/* S: reply to NBD_OPT_EXPORT_NAME (124 zero bytes follow without NO_ZEROES). */
struct nbd_export_name_reply {
	__be64 size;
	__be16 tflags;
} NBD_WIRE;

/* Payloads of NBD_REP_INFO. */
struct nbd_info_export {
	__be16 type;		/* NBD_INFO_EXPORT */
	__be64 size;
	__be16 tflags;
} NBD_WIRE;

struct nbd_info_block_size {
	__be16 type;		/* NBD_INFO_BLOCK_SIZE */
	__be32 min_block;
	__be32 pref_block;
	__be32 max_payload;
} NBD_WIRE;

/* C: transmission request (WRITE payload follows). */
struct nbd_req_hdr {
	__be32 magic;		/* NBD_REQ_MAGIC */
	__be16 flags;
	__be16 type;
	__be64 cookie;		/* "handle" in older texts */
	__be64 offset;
	__be32 len;
} NBD_WIRE;

/* S: simple reply (READ payload follows on success). */
struct nbd_simple_reply_hdr {
	__be32 magic;		/* NBD_SIMPLE_REPLY_MAGIC */
	__be32 error;
	__be64 cookie;
} NBD_WIRE;

/* S: structured reply chunk header, followed by @len bytes. */
struct nbd_chunk_hdr {
	__be32 magic;		/* NBD_CHUNK_MAGIC */
	__be16 flags;
	__be16 type;
	__be64 cookie;
	__be32 len;
} NBD_WIRE;

/* Chunk payload prefixes. */
struct nbd_chunk_offset_data {
	__be64 offset;		/* data follows */
} NBD_WIRE;

struct nbd_chunk_offset_hole {
	__be64 offset;
	__be32 hole_len;
} NBD_WIRE;

struct nbd_chunk_error {
	__be32 error;
	__be16 msg_len;		/* message follows */
} NBD_WIRE;

_Static_assert(sizeof(struct nbd_hello) == 18, "nbd_hello");
_Static_assert(sizeof(struct nbd_opt_hdr) == 16, "nbd_opt_hdr");
_Static_assert(sizeof(struct nbd_opt_reply_hdr) == 20, "nbd_opt_reply_hdr");
_Static_assert(sizeof(struct nbd_export_name_reply) == 10, "export_name_reply");
_Static_assert(sizeof(struct nbd_info_export) == 12, "nbd_info_export");
_Static_assert(sizeof(struct nbd_info_block_size) == 14, "info_block_size");
_Static_assert(sizeof(struct nbd_req_hdr) == 28, "nbd_req_hdr");
_Static_assert(sizeof(struct nbd_simple_reply_hdr) == 16, "simple_reply_hdr");
_Static_assert(sizeof(struct nbd_chunk_hdr) == 20, "nbd_chunk_hdr");
_Static_assert(sizeof(struct nbd_chunk_offset_data) == 8, "offset_data");
_Static_assert(sizeof(struct nbd_chunk_offset_hole) == 12, "offset_hole");
_Static_assert(sizeof(struct nbd_chunk_error) == 6, "nbd_chunk_error");

#endif /* NETSWAP_PROTO_NBD_H */
