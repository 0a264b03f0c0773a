#!/usr/bin/env python3
"""Why: the peer of the card benchmark. python-stdnum's Luhn validation over
the same file: each line loses its spaces and dashes (stdnum.luhn does not
strip them itself), goes through stdnum.luhn.is_valid, and the verdict is
printed one per line, so both programs read, check and write every number.
"""
import sys

from stdnum import luhn


def main():
    out = sys.stdout
    valid = invalid = 0
    buf = []
    for line in sys.stdin:
        number = line.rstrip("\r\n").replace(" ", "").replace("-", "")
        if not number:
            continue
        if luhn.is_valid(number):
            valid += 1
            buf.append("valid\n")
        else:
            invalid += 1
            buf.append("invalid\n")
        if len(buf) >= 65536:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    print(f"stdnum: {valid} valid, {invalid} invalid", file=sys.stderr)


if __name__ == "__main__":
    main()
