/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page stamps for the lab's memory hog.  Every 4 KiB page is filled with a
 * pattern that is a function of (pid, page index, pass): a header naming its
 * owner, a checksum, and 507 words derived from both.  A page that holds
 * another page's content, an older pass, zeroes or a flipped bit never
 * verifies, and the header tells which of those it is.
 */
#ifndef LAB_STAMP_H
#define LAB_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define STAMP_PAGE	4096u
#define STAMP_WORDS	(STAMP_PAGE / sizeof(uint64_t))
#define STAMP_MAGIC	0x4e53504147453031ULL	/* "NSPAGE01" */

/* What a page that failed verification holds instead. */
enum stamp_kind {
	STAMP_OK = 0,
	STAMP_ZERO,	/* all zero: a read that returned nothing */
	STAMP_STALE,	/* this page, but from an earlier pass */
	STAMP_FOREIGN,	/* a whole, valid page of someone else */
	STAMP_CORRUPT,	/* bytes that no stamp produces */
};

struct stamp_report {
	enum stamp_kind kind;
	uint64_t found_pid, found_page, found_pass;	/* header as found */
	unsigned first_bad_word, bad_words;
};

void stamp_page(uint64_t *w, uint64_t pid, uint64_t page, uint64_t pass);

/* Returns 1 when the page is exactly what stamp_page() wrote, else 0 and
 * fills @r. */
int stamp_verify(const uint64_t *w, uint64_t pid, uint64_t page,
		 uint64_t pass, struct stamp_report *r);

const char *stamp_kind_name(enum stamp_kind kind);

#endif /* LAB_STAMP_H */
