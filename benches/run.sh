#!/usr/bin/env bash
# End-to-end benchmark (see BENCHMARKS.md): generates seeded data of one size, installs DuckDB
# and Polars in a local virtual environment, and times touchpath against them on the same files.
#
#   benches/run.sh S      # 1M visits   (about 1 minute)
#   benches/run.sh M 5    # 10M visits, 5 runs per job
#   benches/run.sh L 3    # 50M visits
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-S}
runs=${2:-5}
case "$size" in
  S) visits=1000000 ;;
  M) visits=10000000 ;;
  L) visits=50000000 ;;
  *) echo "size is S, M or L" >&2; exit 2 ;;
esac
dir=bench-data/$size
cargo build --release --example generate --bin touchpath
if [ ! -f "$dir/visits.csv" ]; then
  target/release/examples/generate --out "$dir" --visits "$visits" --seed 1 --clean
fi
cp testdata/demo/touchpath.toml "$dir/touchpath.toml"
if [ ! -x bench-data/venv/bin/python ]; then
  python3 -m venv bench-data/venv
  bench-data/venv/bin/pip install --quiet duckdb polars
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(target/release/touchpath --version)"
bench-data/venv/bin/python -c 'import duckdb, polars; print("duckdb", duckdb.__version__, "/ polars", polars.__version__)'
bench-data/venv/bin/python benches/compare.py --dir "$dir" --runs "$runs" --touchpath target/release/touchpath
