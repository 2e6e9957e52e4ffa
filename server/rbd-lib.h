/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * librbd and librados, loaded when the first rbd: export opens (dlopen),
 * not linked.  A server without rbd: exports then carries none of Ceph's
 * libraries (25 MiB of RSS, and seconds of the sanitizer's leak check at
 * every exit of a test server), and the package does not depend on them.
 * server/rbd.c calls each function through RBD(name), a pointer typed from
 * the library's own header.
 */
#ifndef NSD_RBD_LIB_H
#define NSD_RBD_LIB_H

#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stddef.h>

#define NSD_RBD_FUNCS(X)						\
	X(rados_create) X(rados_conf_read_file) X(rados_conf_set)	\
	X(rados_connect) X(rados_shutdown) X(rados_ioctx_create)	\
	X(rados_ioctx_destroy) X(rados_ioctx_set_namespace)		\
	X(rbd_open) X(rbd_open_read_only) X(rbd_close) X(rbd_get_size)	\
	X(rbd_get_features) X(rbd_lock_acquire) X(rbd_lock_release)	\
	X(rbd_lock_get_owners) X(rbd_lock_get_owners_cleanup)		\
	X(rbd_is_exclusive_lock_owner) X(rbd_aio_create_completion)	\
	X(rbd_aio_release) X(rbd_aio_get_return_value) X(rbd_aio_read)	\
	X(rbd_aio_write) X(rbd_aio_flush) X(rbd_aio_discard)		\
	X(rbd_aio_write_zeroes)

struct nsd_rbd_lib {
#define NSD_RBD_PTR(f) __typeof__(f) *f;
	NSD_RBD_FUNCS(NSD_RBD_PTR)
#undef NSD_RBD_PTR
};
extern struct nsd_rbd_lib nsd_rbd_lib;

#define RBD(f) (nsd_rbd_lib.f)

/* Load both libraries once; 0, or -1 with why in @err. */
int nsd_rbd_lib_load(char *err, size_t len);

#endif
