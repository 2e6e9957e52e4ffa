// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page stamps: see stamp.h.  The fill is one XOR per word so that stamping
 * 2 GiB stays cheap under TCG, where the guest CPU is emulated.
 */
#include "stamp.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL
#define HDR_WORDS 5	/* magic, pid, page, pass, checksum */

/* A bijection on 64 bits (the splitmix64 finaliser): distinct owners get
 * unrelated keys, so two pages never share a pattern word by accident. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* pid < 2^22 (pid_max), page < 2^34, pass < 2^8: the packing is injective. */
static uint64_t key_of(uint64_t pid, uint64_t page, uint64_t pass)
{
	return mix(pid << 42 ^ page << 8 ^ (pass & 0xff));
}

static uint64_t word_of(uint64_t key, unsigned k)
{
	return key ^ (k * GOLDEN);
}

/* The checksum covers the pattern words; with the header it makes a page
 * self-describing, which is what lets a mismatch name the page it holds. */
static uint64_t checksum_of(uint64_t key)
{
	uint64_t sum = 0;
	unsigned k;

	for (k = HDR_WORDS; k < STAMP_WORDS; k++)
		sum = (sum << 7 | sum >> 57) ^ word_of(key, k);
	return sum;
}

void stamp_page(uint64_t *w, uint64_t pid, uint64_t page, uint64_t pass)
{
	uint64_t key = key_of(pid, page, pass);
	uint64_t g = HDR_WORDS * GOLDEN, sum = 0;
	unsigned k;

	w[0] = STAMP_MAGIC;
	w[1] = pid;
	w[2] = page;
	w[3] = pass;
	for (k = HDR_WORDS; k < STAMP_WORDS; k++, g += GOLDEN) {
		w[k] = key ^ g;
		sum = (sum << 7 | sum >> 57) ^ w[k];
	}
	w[4] = sum;
}

/* Is @w a complete, valid stamp of whatever its header claims? */
static int self_consistent(const uint64_t *w)
{
	uint64_t key;
	unsigned k;

	if (w[0] != STAMP_MAGIC)
		return 0;
	key = key_of(w[1], w[2], w[3]);
	for (k = HDR_WORDS; k < STAMP_WORDS; k++)
		if (w[k] != word_of(key, k))
			return 0;
	return w[4] == checksum_of(key);
}

static void classify(const uint64_t *w, uint64_t pid, uint64_t page,
		     struct stamp_report *r)
{
	unsigned k;
	int zero = 1;

	for (k = 0; k < STAMP_WORDS && zero; k++)
		zero = w[k] == 0;
	if (zero)
		r->kind = STAMP_ZERO;
	else if (!self_consistent(w))
		r->kind = STAMP_CORRUPT;
	else if (w[1] == pid && w[2] == page)
		r->kind = STAMP_STALE;
	else
		r->kind = STAMP_FOREIGN;
}

int stamp_verify(const uint64_t *w, uint64_t pid, uint64_t page,
		 uint64_t pass, struct stamp_report *r)
{
	const uint64_t hdr[4] = { STAMP_MAGIC, pid, page, pass };
	uint64_t key = key_of(pid, page, pass);
	uint64_t g = HDR_WORDS * GOLDEN, sum = 0;
	unsigned k, bad = 0, first = 0;

	for (k = 0; k < 4; k++)
		if (w[k] != hdr[k] && !bad++)
			first = k;
	/* One pass: compare each word and fold it into the checksum. */
	for (k = HDR_WORDS; k < STAMP_WORDS; k++, g += GOLDEN) {
		if (w[k] != (key ^ g) && !bad++)
			first = k;
		sum = (sum << 7 | sum >> 57) ^ w[k];
	}
	if (w[4] != sum && !bad++)
		first = 4;
	if (!bad)
		return 1;

	r->found_pid = w[1];
	r->found_page = w[2];
	r->found_pass = w[3];
	r->first_bad_word = first;
	r->bad_words = bad;
	classify(w, pid, page, r);
	return 0;
}

const char *stamp_kind_name(enum stamp_kind kind)
{
	switch (kind) {
	case STAMP_OK:
		return "ok";
	case STAMP_ZERO:
		return "zero";
	case STAMP_STALE:
		return "stale";
	case STAMP_FOREIGN:
		return "foreign";
	case STAMP_CORRUPT:
		return "corrupt";
	}
	return "?";
}
