/* SPDX-License-Identifier: GPL-2.0-only */
/* The one assertion the unit tests share: report the failed condition
 * with its place, count it, carry on; main() returns fails != 0.  Safe
 * from several threads. */
#ifndef NETSWAP_TESTS_UNIT_CHECK_H
#define NETSWAP_TESTS_UNIT_CHECK_H

#include <stdio.h>

static int fails;

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, \
				#cond);                                   \
			__atomic_fetch_add(&fails, 1, __ATOMIC_RELAXED);  \
		}                                                         \
	} while (0)

#endif
