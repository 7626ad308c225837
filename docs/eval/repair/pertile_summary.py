"""Mean change of the flagged tiles' PSNR (and the worst) under repair policies: a colour ladder
tried in turn until a pass is within the limit (else the lowest peak, kept only if lower than
as is), applied only to tiles past R times the limit. Input: pertile.py's lines.

    python docs/eval/repair/pertile_summary.py FILE...
"""

import collections
import sys

FACTORS = (1.0, 0.75, 0.5, 0.25)
POLICIES = [(f"({','.join(f'{k:g}' for k in ladder)}) R{r:g}", ladder, r)
            for r in (1, 2, 10, 20) for ladder in ((0.5, 0.25), (0.75, 0.5, 0.25))]


def choose(peak: dict[float, float], ladder: tuple[float, ...], r: float) -> float:
    if peak[1.0] <= r:
        return 1.0
    best = None
    for k in ladder:
        if best is None or peak[k] < peak[best]:
            best = k
        if peak[k] <= 1:
            break
    return best if peak[best] < peak[1.0] else 1.0


def main() -> None:
    groups = collections.defaultdict(list)
    for f in sys.argv[1:]:
        for line in open(f):
            t = line.split()
            if len(t) != 14:
                continue
            vals = list(map(float, t[6:]))
            groups[(t[0], t[1])].append((dict(zip(FACTORS, vals[0::2])),
                                         dict(zip(FACTORS, vals[1::2]))))
    for (model, name), rs in sorted(groups.items()):
        base = sum(r[1][1.0] for r in rs) / len(rs)
        ratios = [r[0][1.0] for r in rs]
        print(f"{model} {name}: {len(rs)} tiles, as is {base:.2f} dB, "
              f"{min(ratios):.3g}-{max(ratios):.3g}x the limit")
        for label, ladder, r in POLICIES:
            ch = [p[choose(k, ladder, r)] - p[1.0] for k, p in rs]
            print(f"    {label:18s} {sum(ch) / len(ch):+6.2f} dB (worst {min(ch):+.2f})")


if __name__ == "__main__":
    main()
