"""``python -m bench [GROUP …]``: measure every figure group (or those named: pages, library, catalogue,
search, signin, points), write bench/results/latest.json and print a table.

BENCH_SECONDS sets the measuring time of each load (default 5). Load comes from wrk when it is on
PATH (Debian package ``wrk``), else from a slower Python generator; each figure records which.

Exits 0 when everything was measured, even if a target was missed (the table and the file say so);
exits 1 when a group could not be measured at all.
"""
import sys
import traceback

from bench import catalogue, library, pages, points, search, signin
from bench.common import BenchError, bench_seconds, print_table, write_results

# Each group is a function returning its list of Figures; a new group is a new module added here.
GROUPS = {module.__name__.removeprefix("bench."): module.figures
          for module in (pages, library, catalogue, search, signin, points)}


def main(names: list[str]) -> int:
    try:
        bench_seconds()  # a bad BENCH_SECONDS should fail now, not after minutes of setup
        unknown = set(names) - set(GROUPS)
        if unknown:
            raise BenchError(f"no figure group {', '.join(sorted(unknown))}; the groups: {', '.join(GROUPS)}")
    except BenchError as exc:
        print(exc, file=sys.stderr)
        return 1
    figures, broken = [], []
    for group in [GROUPS[name] for name in names] or GROUPS.values():
        # A group that breaks must not cost the figures of the others.
        try:
            figures += group()
        except BenchError as exc:
            broken.append(group.__module__)
            print(f"{group.__module__}: {exc}", file=sys.stderr)
        except Exception:
            broken.append(group.__module__)
            traceback.print_exc()
    path = write_results(figures)
    print_table(figures)
    print(f"Written to {path}")
    if broken:
        print(f"BENCH BROKEN: no figures from {', '.join(broken)}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
