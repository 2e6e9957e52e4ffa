// SPDX-License-Identifier: GPL-2.0-only
/*
 * netswap reserve's arithmetic, worked by hand for the lab's guest (512 MiB,
 * MTU 1500, Debian's TCP buffer limits) and checked at its edges.
 */
#include <stdio.h>
#include <string.h>

#include "cli/netswap.h"
#include "tests/unit/check.h"

static void lab_guest(struct cli_reserve_in *in)
{
	memset(in, 0, sizeof(*in));
	in->page_size = 4096;
	in->mtu = 1500;
	in->rmem_max = 6291456;
	in->wmem_max = 4194304;
	in->mem_total_kb = 512 * 1024;
	in->current_kb = 2896;
}

static void test_default_min_free(void)
{
	/* int_sqrt(16 * kb), clamped to [128, 262144] as mm/page_alloc.c does. */
	CHECK(cli_default_min_free_kb(512 * 1024) == 2896);
	CHECK(cli_default_min_free_kb(1024 * 1024) == 4096);
	CHECK(cli_default_min_free_kb(16) == 128);
	CHECK(cli_default_min_free_kb(0) == 128);
	CHECK(cli_default_min_free_kb(8ULL << 40) == 262144);
}

static void test_lab_guest(void)
{
	struct cli_reserve_in in;
	struct cli_reserve_out out;
	const struct cli_reserve_conn *c = &out.per_dev[0];

	lab_guest(&in);
	in.ndev = 1;
	in.dev[0] = (struct cli_reserve_dev){ .conns = 1, .queue_depth = 64,
					      .max_request = 131072 };
	CHECK(!cli_reserve_compute(&in, &out));
	CHECK(c->mss == 1448);
	/* 2048-byte buffer (1500 + 14 + 64 rounded up) + 256 + 320. */
	CHECK(c->seg_truesize == 2624);
	/* ceil(131088 / 1448) = 91 segments per reply, 64 replies. */
	CHECK(c->rx_segments_uncapped == 64 * 91);
	/* The 6 MiB window holds ceil(6291456 / 1448) = 4345 segments. */
	CHECK(c->rx_segments == 4345);
	/* ceil(4345 * 2624 / 4096) */
	CHECK(c->rx_pages == 2784);
	/* 64 x 131100 B > 4 MiB: capped; 1024 pages + 64 GSO heads. */
	CHECK(c->tx_bytes == 4194304);
	CHECK(c->tx_pages == 1024 + 64);
	CHECK(c->pages == 2784 + 1088 + 4);
	CHECK(out.pages == 3876);
	CHECK(out.reserve_kb == 3876 * 4);
	CHECK(out.base_kb == 2896);
	CHECK(out.recommended_kb == 2896 + 15504);
}

static void test_small_queue(void)
{
	struct cli_reserve_in in;
	struct cli_reserve_out out;
	const struct cli_reserve_conn *c = &out.per_dev[0];

	lab_guest(&in);
	in.ndev = 1;
	in.dev[0] = (struct cli_reserve_dev){ .conns = 2, .queue_depth = 4,
					      .max_request = 4096 };
	CHECK(!cli_reserve_compute(&in, &out));
	/* ceil(4112 / 1448) = 3 segments x 4 replies: under the window. */
	CHECK(c->rx_segments == 12);
	CHECK(c->rx_pages == (12 * 2624 + 4095) / 4096);
	CHECK(c->tx_bytes == 4 * (4096 + 28));
	CHECK(c->tx_pages == 5 + 1);
	CHECK(out.conns == 2);
	CHECK(out.pages == 2 * c->pages);
}

static void test_tiny_window(void)
{
	struct cli_reserve_in in;
	struct cli_reserve_out out;

	lab_guest(&in);
	in.rmem_max = 4096;
	in.ndev = 1;
	in.dev[0] = (struct cli_reserve_dev){ .conns = 1, .queue_depth = 64,
					      .max_request = 131072 };
	CHECK(!cli_reserve_compute(&in, &out));
	/* Every reply is at least one segment, whatever the window. */
	CHECK(out.per_dev[0].rx_segments == 64);
}

static void test_devices_add_up(void)
{
	struct cli_reserve_in in;
	struct cli_reserve_out one, two;

	lab_guest(&in);
	in.ndev = 1;
	in.dev[0] = (struct cli_reserve_dev){ .conns = 1, .queue_depth = 32,
					      .max_request = 65536 };
	CHECK(!cli_reserve_compute(&in, &one));
	in.ndev = 2;
	in.dev[1] = in.dev[0];
	CHECK(!cli_reserve_compute(&in, &two));
	CHECK(two.pages == 2 * one.pages);
	CHECK(two.recommended_kb == one.base_kb + 2 * one.reserve_kb);
}

static void test_no_devices_and_bad_input(void)
{
	struct cli_reserve_in in;
	struct cli_reserve_out out;

	lab_guest(&in);
	CHECK(!cli_reserve_compute(&in, &out));
	CHECK(out.pages == 0 && out.recommended_kb == out.base_kb);

	in.mtu = 60;
	CHECK(cli_reserve_compute(&in, &out));
	lab_guest(&in);
	in.page_size = 0;
	CHECK(cli_reserve_compute(&in, &out));
	lab_guest(&in);
	in.ndev = 1;
	in.dev[0] = (struct cli_reserve_dev){ .conns = 1, .queue_depth = 0 };
	CHECK(cli_reserve_compute(&in, &out));
}

int main(void)
{
	test_default_min_free();
	test_lab_guest();
	test_small_queue();
	test_tiny_window();
	test_devices_add_up();
	test_no_devices_and_bad_input();
	if (fails)
		fprintf(stderr, "%d failure(s)\n", fails);
	else
		printf("test-cli-reserve: ok\n");
	return fails != 0;
}
