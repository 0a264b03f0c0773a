#!/usr/bin/env python3
"""Why: the card benchmark needs the same 10 million numbers for both
programs, reproducible from a seed, shaped like real input: every network of
the table, 16-digit numbers most often, a third grouped with spaces and a
third with dashes, and some invalid (bad check digit, bad length, unknown
prefix) so that every branch of the check runs.

Usage: gen.py COUNT > numbers.txt
"""
import random
import sys

# (prefix, lengths) pairs: one or two per network of src/card/networks.rs.
PREFIXES = [
    ("4", (16, 16, 16, 13, 19)),
    ("51", (16,)), ("55", (16,)), ("2221", (16,)), ("2720", (16,)),
    ("34", (15,)), ("37", (15,)),
    ("6011", (16, 19)), ("65", (16,)), ("622126", (16,)),
    ("36", (14,)), ("300", (14, 16)),
    ("3528", (16, 19)), ("62", (16, 19)),
    ("6759", (12, 16, 19)), ("5018", (16,)),
    ("2200", (16,)),
]


def check_digit(payload):
    total = 0
    for i, c in enumerate(reversed(payload)):
        d = ord(c) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return chr(48 + (10 - total % 10) % 10)


def main():
    count = int(sys.argv[1])
    rng = random.Random(9)
    out = sys.stdout
    digits = "0123456789"
    lines = []
    for _ in range(count):
        prefix, lengths = rng.choice(PREFIXES)
        length = rng.choice(lengths)
        kind = rng.random()
        if kind < 0.03:
            prefix = "9"  # unknown prefix
        elif kind < 0.06:
            length -= 1  # a length the network does not allow
        payload = prefix + "".join(rng.choices(digits, k=length - 1 - len(prefix)))
        number = payload + check_digit(payload)
        if 0.06 <= kind < 0.11:
            number = payload + chr(48 + (ord(check_digit(payload)) - 48 + 1) % 10)
        style = rng.random()
        if style < 1 / 3:
            number = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
        elif style < 2 / 3:
            number = "-".join(number[i:i + 4] for i in range(0, len(number), 4))
        lines.append(number)
        if len(lines) >= 100_000:
            out.write("\n".join(lines) + "\n")
            lines.clear()
    if lines:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
