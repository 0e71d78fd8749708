#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Style checks for every C file (docs: shared style rules 2, 3, 20): SPDX line first, a purpose
# comment right after, `//` comments only (`/* */` allowed inside macro bodies), at most 100
# columns (tabs count 8), no trailing whitespace, include guards in headers, and
# `clang-format --dry-run --Werror` (.clang-format) except for the files listed in
# tests/lint-format-exceptions. CTest label lint.
# clang-format is checked only with version 14 (Debian 12): other versions format differently.
# Usage: tests/lint.sh [FILE...] (default: every .c/.h under the source folders).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(find daemon dataplane drivers control ctl tests/unit tests/fuzz \
		-type f \( -name '*.c' -o -name '*.h' \) | sort)
fi

python3 - "${files[@]}" <<'PY'
import re
import sys

MAX_COLS = 100
problems = 0


def report(path, line, what):
    global problems
    problems += 1
    print(f"{path}:{line}: {what}")


def block_comments(path, lines):
    """Yields the line numbers where a /* comment starts outside a preprocessor directive."""
    in_block = False
    in_directive = False  # inside a #define (or any directive) and its continuation lines
    for no, line in enumerate(lines, 1):
        if not in_directive and not in_block and line.lstrip().startswith("#"):
            in_directive = True
        i, n = 0, len(line)
        quote = None
        while i < n:
            c = line[i]
            if in_block:
                if line.startswith("*/", i):
                    in_block = False
                    i += 2
                    continue
                i += 1
                continue
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if c == quote:
                    quote = None
                i += 1
                continue
            if c in "\"'":
                quote = c
            elif line.startswith("//", i):
                break
            elif line.startswith("/*", i):
                if not in_directive:
                    yield no
                in_block = True
                i += 2
                continue
            i += 1
        if in_directive and not line.rstrip("\n").endswith("\\"):
            in_directive = False


def include_guard(path, lines):
    code = [(no, l.strip()) for no, l in enumerate(lines, 1)
            if l.strip() and not l.strip().startswith("//")]
    if len(code) < 3:
        return report(path, 1, "header without an include guard")
    m = re.fullmatch(r"#ifndef\s+(\w+)", code[0][1])
    if not m:
        return report(path, code[0][0], "header must start with #ifndef GUARD (include guard)")
    if not re.fullmatch(r"#define\s+" + m.group(1), code[1][1]):
        return report(path, code[1][0], f"#ifndef {m.group(1)} must be followed by "
                      f"#define {m.group(1)}")
    if not re.fullmatch(r"#endif\b.*", code[-1][1]):
        report(path, code[-1][0], "header must end with the #endif of its include guard")


for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        report(path, 1, f"cannot read as UTF-8: {e}")
        continue
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        report(path, len(lines), "no newline at end of file")
    if not lines or not re.fullmatch(r"// SPDX-License-Identifier: \S.*", lines[0]):
        report(path, 1, "first line must be // SPDX-License-Identifier: <license>")
    if len(lines) < 2 or not re.fullmatch(r"// \S.*", lines[1]):
        report(path, 2, "second line must start the purpose comment (// what this file is)")
    for no, line in enumerate(lines, 1):
        cols = len(line.expandtabs(8))
        if cols > MAX_COLS:
            report(path, no, f"{cols} columns (max {MAX_COLS}, tabs count 8)")
        if line != line.rstrip():
            report(path, no, "trailing whitespace")
    for no in block_comments(path, lines):
        report(path, no, "/* */ comment outside a macro body (use //)")
    if path.endswith(".h"):
        include_guard(path, lines)

print(f"lint: {len(sys.argv) - 1} files, {problems} problems")
sys.exit(1 if problems else 0)
PY
rc=$?

# clang-format, on every file not listed as an exception.
if ! command -v clang-format >/dev/null; then
	echo "clang-format: not installed, formatting not checked"
elif ! clang-format --version | grep -q 'version 14\.'; then
	echo "clang-format: not version 14 ($(clang-format --version)), formatting not checked"
else
	mapfile -t exceptions < <(grep -v '^#' tests/lint-format-exceptions)
	n=0
	for f in "${files[@]}"; do
		excepted=0
		for e in "${exceptions[@]}"; do [ "$f" = "$e" ] && excepted=1; done
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			if [ "$excepted" = 0 ]; then
				echo "$f: not clang-formatted (clang-format -i $f; see the diff with" \
					"clang-format $f | diff $f -)"
				n=$((n + 1))
			fi
		elif [ "$excepted" = 1 ]; then
			echo "note: $f is clang-formatted now: remove it from tests/lint-format-exceptions"
		fi
	done
	echo "clang-format: $n files not formatted (${#exceptions[@]} exceptions)"
	[ "$n" -eq 0 ] || rc=1
fi
exit $rc
