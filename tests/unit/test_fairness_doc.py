"""docs/fairness.md is this test's input and expected output.

The worked examples are recomputed here from the page's own words (HMAC-SHA256,
the clamps, Floyd's cut points), independently of ``core.allocation``, and the
``redpacket verify`` outputs the page shows are compared with the real command.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import sys
from pathlib import Path

from core.allocation import Rule, _level_to_cap, full_split

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "fairness.md").read_text(encoding="utf-8")
SEED_HEX = "00112233445566778899aabbccddeeff"


def table(header_start: str) -> list[list[str]]:
    """The body rows of the markdown table whose header starts with ``header_start``."""
    lines = DOC.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def console_blocks() -> list[tuple[str, list[str]]]:
    """(command, output lines) of every ```console block."""
    blocks = re.findall(r"```console\n(.*?)```", DOC, re.S)
    found = []
    for block in blocks:
        first, *rest = block.rstrip("\n").split("\n")
        assert first.startswith("$ ")
        found.append((first[2:], rest))
    return found


def hmac_hex(seed: bytes, label: str) -> str:
    return hmac.new(seed, label.encode("ascii"), hashlib.sha256).hexdigest()


def test_double_mean_example_follows_the_page_step_by_step() -> None:
    seed = bytes.fromhex(SEED_HEX)
    total, count, cap = 1000, 5, 20000
    rows = table("| position | R |")
    assert len(rows) == count
    remaining, shares = total, []
    for position, row in enumerate(rows, start=1):
        n = count - position + 1
        assert [int(row[0]), int(row[1]), int(row[2])] == [position, remaining, n]
        if n == 1:
            share = remaining
        else:
            others = n - 1
            low = max(1, remaining - others * cap)
            high = max(low, min(2 * remaining // n, cap, remaining - others))
            label = f"dm:{position}"
            digest = hmac_hex(seed, label)
            offset = int(digest, 16) % (high - low + 1)
            share = low + offset
            assert row[3:8] == [str(low), str(high), label, digest, str(offset)]
        assert int(row[8]) == share
        shares.append(share)
        remaining -= share
    assert remaining == 0
    assert full_split(Rule.DOUBLE_MEAN, seed, total, count, cap) == shares
    assert f"`{hashlib.sha256(seed).hexdigest()}`" in DOC


def test_segment_example_follows_the_page_step_by_step() -> None:
    seed = bytes.fromhex(SEED_HEX)
    total, count, cap = 10, 3, 4
    rows = table("| attempt | j |")
    n, k = total - 1, count - 1
    by_attempt: dict[int, list[list[str]]] = {}
    for row in rows:
        by_attempt.setdefault(int(row[0]), []).append(row)
    pieces: list[int] = []
    for attempt in range(64):
        chosen: set[int] = set()
        steps = by_attempt.get(attempt, [])
        for step, j in enumerate(range(n - k + 1, n + 1)):
            label = f"seg:{attempt}:{j}"
            digest = hmac_hex(seed, label)
            t = 1 + int(digest, 16) % j
            added = j if t in chosen else t
            chosen.add(added)
            assert steps[step] == [str(attempt), str(j), label, digest, str(t), str(added)]
        edges = [0, *sorted(chosen), total]
        pieces = [b - a for a, b in zip(edges, edges[1:])]
        if max(pieces) <= cap:
            break
    assert sorted(by_attempt) == list(range(attempt + 1))  # every attempt shown, no more
    assert pieces == [4, 4, 2]
    assert full_split(Rule.SEGMENT, seed, total, count, cap) == pieces


def test_levelling_example() -> None:
    match = re.search(
        r"pieces (\d+), (\d+), (\d+)\s+with `cap` (\d+).*?giving (\d+), (\d+), (\d+)", DOC, re.S
    )
    assert match is not None
    numbers = [int(x) for x in match.groups()]
    assert _level_to_cap(numbers[:3], numbers[3]) == numbers[4:]


def test_the_verify_outputs_shown_are_what_the_command_prints() -> None:
    checked = 0
    for command, expected in console_blocks():
        if "--seed" not in command:
            continue
        args = command.split()[1:]
        assert args[0] == "verify"
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == expected
        checked += 1
    assert checked == 2


def test_example_shares_in_the_table_match_the_command_output() -> None:
    shares = [int(row[8]) for row in table("| position | R |")]
    _, output = next(block for block in console_blocks() if "double_mean" in block[0])
    shown = [line.split(": ")[1] for line in output if line.startswith("position ")]
    assert shown == [f"{s // 100}.{s % 100:02d}" for s in shares]
