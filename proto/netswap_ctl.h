/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The contract between netswap.ko and the netswap CLI: what the two must
 * agree on, in one place.  The module builds its configfs attributes and
 * sysfs files from the lists below; the CLI builds its attach options, their
 * bounds and its status output from the same lists.  A name or a bound
 * changed here changes on both sides.
 *
 * Included plainly, it gives the constants.  Included with NS_CFG_UINT or
 * NS_SYSFS_VALUE defined, it expands that macro once per entry of the list
 * (and undefines it), so each side generates what it needs, e.g.:
 *
 *	#define NS_CFG_UINT(name, min, max, def, help) unsigned int name;
 *	#include "netswap_ctl.h"
 *
 * No kernel or libc headers: both sides include it after their own.
 */
#if defined(NS_CFG_UINT)
/*
 * configfs: the numeric settings of a device, frozen while it is powered.
 * NS_CFG_UINT(name, min, max, default, help); the CLI's option is --name
 * with '-' for '_', and a 0..1 setting whose default is 1 is switched off
 * with --no-name.
 */
NS_CFG_UINT(connections, 1, NS_MAX_CONNS, 1,
	    "TCP connections (used only if the server allows several)")
NS_CFG_UINT(queue_depth, 1, 1024, 64,
	    "requests in flight per device")
NS_CFG_UINT(io_timeout, 0, 604800, 0,
	    "fail I/O that waited this many seconds (0: never)")
NS_CFG_UINT(req_timeout, 1, 3600, 30,
	    "seconds without a reply before a connection is reset")
NS_CFG_UINT(connect_timeout, 1, 600, 10,
	    "seconds per connect and per handshake")
NS_CFG_UINT(integrity, 0, 1, 1,
	    "verify every page read against its crc32c")
NS_CFG_UINT(leg_timeout, 1, 3600, 10,
	    "mirror: seconds a server may be down before it is dropped")
#undef NS_CFG_UINT

#elif defined(NS_SYSFS_VALUE)
/*
 * sysfs: the one-value files of /sys/block/netswapN/netswap/, in the order
 * `netswap status --json` prints them.  NS_SYSFS_VALUE(name, kind, help),
 * kind being counter (only grows), gauge (up and down) or info (a setting).
 */
NS_SYSFS_VALUE(read_requests, counter, "READ requests completed")
NS_SYSFS_VALUE(write_requests, counter, "WRITE requests completed")
NS_SYSFS_VALUE(flush_requests, counter, "FLUSH requests completed")
NS_SYSFS_VALUE(discard_requests, counter, "TRIM and WRITE_ZEROES requests completed")
NS_SYSFS_VALUE(read_bytes, counter, "bytes read")
NS_SYSFS_VALUE(write_bytes, counter, "bytes written")
NS_SYSFS_VALUE(swap_requests, counter, "requests the kernel marked REQ_SWAP")
NS_SYSFS_VALUE(in_flight, gauge, "requests the device holds now")
NS_SYSFS_VALUE(reconnects, counter, "connections re-established by the kernel")
NS_SYSFS_VALUE(failed_connects, counter, "connection attempts that failed")
NS_SYSFS_VALUE(lost_connections, counter, "live connections that were lost")
NS_SYSFS_VALUE(resends, counter, "requests sent again after a lost connection")
NS_SYSFS_VALUE(timeouts, counter, "requests that passed req_timeout")
NS_SYSFS_VALUE(protocol_errors, counter, "replies that broke the NBD protocol")
NS_SYSFS_VALUE(server_errors, counter, "replies carrying an NBD error")
NS_SYSFS_VALUE(error_retries, counter, "requests retried after an NBD error reply")
NS_SYSFS_VALUE(io_errors, counter, "requests failed back to the block layer")
NS_SYSFS_VALUE(integrity_errors, counter, "blocks read whose crc32c did not match")
NS_SYSFS_VALUE(integrity_rereads, counter, "reads retried after a crc32c mismatch")
NS_SYSFS_VALUE(server_data_lost, counter, "reconnects that found the server had lost written blocks")
NS_SYSFS_VALUE(lost_blocks, gauge, "blocks known lost: reading them fails")
NS_SYSFS_VALUE(known_blocks, gauge, "blocks whose crc32c is known")
NS_SYSFS_VALUE(integrity, info, "1 if every read is verified")
NS_SYSFS_VALUE(integrity_bytes, info, "memory held for checksums, bytes")
NS_SYSFS_VALUE(mirror_legs, info, "servers the device writes to (2: mirrored)")
NS_SYSFS_VALUE(legs_in_sync, gauge, "servers that hold every block")
NS_SYSFS_VALUE(dirty_blocks, gauge, "blocks a mirror leg lacks, all legs")
NS_SYSFS_VALUE(resynced_blocks, counter, "blocks copied to a leg that lacked them")
NS_SYSFS_VALUE(repairs, counter, "blocks read back wrong from one leg, rewritten from the other")
NS_SYSFS_VALUE(degradations, counter, "times a leg was dropped after leg_timeout")
NS_SYSFS_VALUE(mirror_bytes, info, "memory held for the mirror (bitmaps, resync buffer), bytes")
NS_SYSFS_VALUE(leg_timeout, info, "seconds a leg may be down before it is dropped")
NS_SYSFS_VALUE(size_bytes, info, "device size, bytes")
NS_SYSFS_VALUE(transmission_flags, info, "NBD transmission flags of the export")
NS_SYSFS_VALUE(queue_depth, info, "requests in flight per device")
NS_SYSFS_VALUE(max_request_bytes, info, "largest request, bytes")
NS_SYSFS_VALUE(req_timeout, info, "request timeout, seconds")
NS_SYSFS_VALUE(io_timeout, info, "I/O timeout, seconds (0: never fail)")
#undef NS_SYSFS_VALUE

#elif !defined(NETSWAP_CTL_H)
#define NETSWAP_CTL_H

#define NS_DEFAULT_PORT		"10809"	/* IANA's port for NBD */
#define NS_MAX_ADDRS		8	/* addresses tried on every reconnect */
#define NS_MAX_EXPORT		1024	/* export name, bytes with the NUL */
#define NS_MAX_CONNS		16	/* per leg */
#define NS_MAX_LEGS		2	/* servers a device writes to (mirroring) */
#define NS_MAX_NAME		32	/* configfs directory name, with the NUL */
#define NS_CONFIGFS_DIR		"netswap"	/* /sys/kernel/config/netswap */
#define NS_SYSFS_DIR		"netswap"	/* /sys/block/netswapN/netswap */

/* Page integrity: one crc32c per block of this size. */
#define NS_INTEGRITY_BLOCK	4096

/* configfs: the attributes besides the NS_CFG_UINT list. */
#define NS_CFG_ADDRESSES	"addresses"	/* "HOST:PORT [V6]:PORT ..." */
#define NS_CFG_EXPORT		"export"
#define NS_CFG_POWER		"power"		/* write 1: connect; 0: detach */
#define NS_CFG_DEVICE		"device"	/* read: netswapN, once powered */
#define NS_CFG_MIRROR_ADDRESSES	"mirror_addresses"	/* the second leg's */
#define NS_CFG_MIRROR_EXPORT	"mirror_export"

/* sysfs: the table-shaped files. */
#define NS_SYSFS_EXPORT		"export"
#define NS_SYSFS_NAME		"name"
#define NS_SYSFS_CONNECTIONS	"connections"	/* id state addr connects inflight errno up_s leg */
/* legs: id state address export dirty resynced repairs degradations live resync_ms resyncing_s */
#define NS_SYSFS_LEGS		"legs"
#define NS_SYSFS_LATENCY	"latency_histogram"
#define NS_LAT_BUCKETS		20	/* log2 microseconds, last is open-ended */

#endif /* NETSWAP_CTL_H, or a list */
