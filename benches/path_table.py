"""Writes a seeded ChannelAttribution-style path table of N journeys over 20 channels, for the
data-driven models' benchmark (BENCHMARKS.md): `path,conversions,conversion_value,nulls`.

    python3 benches/path_table.py bench-data/paths-1m.csv 1000000
"""

import collections
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
channels = [f"Channel {i:02d}" for i in range(20)]
weights = [1.0 / (i + 1) for i in range(20)]
rows = collections.defaultdict(lambda: [0, 0.0, 0])
for _ in range(n):
    length = min(1 + int(rng.expovariate(0.5)), 12)
    path = rng.choices(channels, weights, k=length)
    lift = len(set(path))
    row = rows[" > ".join(path)]
    if rng.random() < 0.03 * lift:
        row[0] += 1
        row[1] += round(rng.expovariate(1 / 5000.0), 2)
    else:
        row[2] += 1
with open(out, "w", encoding="utf-8") as f:
    f.write("path,conversions,conversion_value,nulls\n")
    for p in sorted(rows):
        c, v, z = rows[p]
        f.write(f"{p},{c},{v:.2f},{z}\n")
print(f"{n} journeys, {len(rows)} distinct paths -> {out}")
