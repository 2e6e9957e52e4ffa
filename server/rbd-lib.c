// SPDX-License-Identifier: GPL-2.0-only
/* Loads librbd and librados at the first rbd: export (see rbd-lib.h). */
#ifdef NSD_HAVE_RBD
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "rbd-lib.h"

struct nsd_rbd_lib nsd_rbd_lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

/* The sonames Debian's librbd1 and librados2 install. */
static void load(void)
{
	void *rados = dlopen("librados.so.2", RTLD_NOW | RTLD_GLOBAL);
	void *rbd = rados ? dlopen("librbd.so.1", RTLD_NOW | RTLD_GLOBAL) : NULL;
	void *sym;

	if (!rbd) {
		snprintf(load_error, sizeof(load_error),
			 "%s (rbd: exports need librbd1 and librados2 installed)",
			 dlerror());
		return;
	}
#define NSD_RBD_SYM(f)							\
	sym = dlsym(#f[1] == 'a' ? rados : rbd, #f);			\
	if (!sym) {							\
		snprintf(load_error, sizeof(load_error),		\
			 "%s has no %s: too old", #f[1] == 'a' ?	\
			 "librados" : "librbd", #f);			\
		return;							\
	}								\
	*(void **)&nsd_rbd_lib.f = sym;
	NSD_RBD_FUNCS(NSD_RBD_SYM)
#undef NSD_RBD_SYM
}

int nsd_rbd_lib_load(char *err, size_t len)
{
	pthread_once(&once, load);
	if (!load_error[0])
		return 0;
	snprintf(err, len, "%s", load_error);
	return -1;
}
#else
/* Without librbd's headers there is nothing to load (rbd.c says so). */
typedef int nsd_rbd_lib_unused;
#endif
