#!/usr/bin/env bash
# End-to-end benchmark (see BENCHMARKS.md): generates seeded data of one size, installs DuckDB
# and Polars in a local virtual environment, and times touchpath against them on the same files,
# a round of every job after another.
#
#   benches/run.sh S        # 1M visits   (about 1 minute)
#   benches/run.sh M 5      # 10M visits, 5 rounds
#   benches/run.sh L 3      # 50M visits
#   benches/run.sh scale 3  # time(L) / time(M): M and L alternating, 3 pairs
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-S}
runs=${2:-5}
generate() {
  local dir=bench-data/$1 visits=$2
  if [ ! -f "$dir/visits.csv" ]; then
    target/release/examples/generate --out "$dir" --visits "$visits" --seed 1 --clean
  fi
  cp testdata/demo/touchpath.toml "$dir/touchpath.toml"
}
case "$size" in
  S) visits=1000000 ;;
  M) visits=10000000 ;;
  L) visits=50000000 ;;
  scale) ;;
  *) echo "size is S, M, L or scale" >&2; exit 2 ;;
esac
cargo build --release --example generate --bin touchpath
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(target/release/touchpath --version)"
if [ "$size" = scale ]; then
  generate M 10000000
  generate L 50000000
  exec python3 benches/compare.py --small bench-data/M --large bench-data/L --runs "$runs" --touchpath target/release/touchpath
fi
generate "$size" "$visits"
if [ ! -x bench-data/venv/bin/python ]; then
  python3 -m venv bench-data/venv
  bench-data/venv/bin/pip install --quiet duckdb polars
fi
bench-data/venv/bin/python -c 'import duckdb, polars; print("duckdb", duckdb.__version__, "/ polars", polars.__version__)'
bench-data/venv/bin/python benches/compare.py --dir "bench-data/$size" --runs "$runs" --touchpath target/release/touchpath
