"""``python -m bench.chaos [--lifecycles N] [--concurrency C] [--seed S] [--out FILE]`` (``make chaos``).

Prints the count to stderr and one JSON object to stdout; exits 1 when a lifecycle did not
reach its expected end, a payment, refund or badge happened twice, a mail is missing, or a mail
went twice with no kill between its deliveries that could explain it (SMTP sends at least once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bench.chaos.run import Options, Report, run


def table(report: Report) -> str:
    t = report.tally
    kills = ", ".join(f"{kind} {n}" for kind, n in sorted(report.kills.items())) or "none"
    lines = [
        f"lifecycles completed     {t.completed}/{report.lifecycles}  ({report.by_plan})",
        f"kills                    {kills}",
        *(f"{name.replace('_', ' '):<24} {n}" for name, n in t.doubles.items()),
        f"mails                    {t.mails_received} received for {t.mails_expected} notifications,"
        f" {t.mails_missing} missing",
        f"mails sent twice         {t.mails_sent_twice}"
        f" ({report.mails_twice_unexplained} without a kill of the worker or Temporal between the two)",
        f"duration                 {report.duration_s:.0f} s (seed {report.seed})",
    ]
    if report.exited_on_their_own:
        lines.append(f"exited on their own      {report.exited_on_their_own}")
    for member, wrong in t.incomplete.items():
        lines.append(f"  incomplete {member}: {wrong}")
    lines.append("OK" if report.ok else "FAILED")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--lifecycles", type=int, default=Options.lifecycles)
    parser.add_argument("--concurrency", type=int, default=Options.concurrency)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, databases)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    report = asyncio.run(
        run(Options(lifecycles=args.lifecycles, concurrency=args.concurrency, seed=args.seed, keep=args.keep))
    )
    print(table(report), file=sys.stderr)
    result = json.dumps(report.as_dict(), indent=2)
    print(result)
    if args.out:
        args.out.write_text(result + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
