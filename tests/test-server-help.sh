#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswapd --help and docs/netswapd.8 agree: every long option (the rows
# of server/options.h, as --help prints them) has its paragraph in the man
# page, every option the man page or --help names exists, and every config
# key the man page's example file uses is an option.  --help fits 80
# columns and goes to stdout with exit 0.
# limit: 30
# shellcheck disable=SC1091 # sourced helpers
source "$(dirname "$0")/lib/functions.sh"

man=${NETSWAPD_MAN:-$TOP/docs/netswapd.8}
"$NETSWAPD" --help >"$T/help" || fail "--help exit status"
# The options themselves: the help rows ("  --name ...").
sed -n 's/^  --\([a-z][a-z-]*\).*/\1/p' "$T/help" | sort -u >"$T/options"
[ "$(wc -l <"$T/options")" -ge 20 ] || fail "only $(wc -l <"$T/options") options in --help"
# Everything that looks like an option, in --help and in the man page.
grep -oE -- '--[a-z][a-z-]*[a-z]' "$T/help" | sed 's/^--//' | sort -u >"$T/help-named"
grep -oE -- '\\-\\-[a-z]+(\\-[a-z]+)*' "$man" | sed 's/\\-/-/g; s/^--//' |
	sort -u >"$T/man-named"
# Paragraphs: ".TP" followed by a line naming the option.
awk '/^\.TP/ { getline; print }' "$man" |
	grep -oE -- '^\.B[IR]? +"?\\-\\-[a-z]+(\\-[a-z]+)*' |
	sed 's/.*\\-\\-//; s/\\-/-/g' | sort -u >"$T/man-paragraphs"

missing=$(comm -23 "$T/options" "$T/man-paragraphs")
[ -z "$missing" ] || fail "options without a paragraph in netswapd.8: $missing"
unknown=$(comm -13 "$T/options" "$T/man-named")
[ -z "$unknown" ] || fail "netswapd.8 names options netswapd lacks: $unknown"
unknown=$(comm -13 "$T/options" "$T/help-named")
[ -z "$unknown" ] || fail "--help names options netswapd lacks: $unknown"
# The example config file: its keys are options, and netswapd accepts it.
sed -n '/^\.SH CONFIGURATION FILE/,/^\.S[HS] [A-Z]/p' "$man" |
	sed -n '/^\.nf/,/^\.fi/p' | grep -vE '^\.(nf|fi)' |
	sed 's/\\-/-/g' >"$T/example.conf"
grep -E '^[a-z][a-z-]* *(=|$)' "$T/example.conf" | sed 's/ *=.*//' |
	sort -u >"$T/man-keys"
[ "$(wc -l <"$T/man-keys")" -ge 4 ] || fail "netswapd.8 has no example config file"
unknown=$(comm -13 "$T/options" "$T/man-keys")
[ -z "$unknown" ] || fail "the example config file uses unknown keys: $unknown"
"$NETSWAPD" --config "$T/example.conf" --check-config >"$T/check.out" ||
	fail "the man page's example config is refused"
grep -q '^configuration valid: 3 exports, 1 listeners$' "$T/check.out" ||
	fail "--check-config said: $(cat "$T/check.out")"
echo "# $(wc -l <"$T/options") options; the example file has $(wc -l <"$T/man-keys") keys"

long=$(awk 'length > 79' "$T/help")
[ -z "$long" ] || fail "--help lines over 79 columns: $long"
echo "help and man page: all agree"
