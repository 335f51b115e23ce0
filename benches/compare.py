"""End-to-end benchmark: touchpath against the same job done in DuckDB SQL and in Polars.

Run through benches/run.sh, which generates the data and installs DuckDB and Polars in a local
virtual environment. Every engine reads the same generated files; each job is timed as a whole
process (wall time, median of --runs, and peak resident memory).

The comparable job is the part of attribution SQL expresses simply: orders joined to the visits
of the same client id (no identity stitching, no calls, receipts or messages), touches in the 30
days before each order, channels from UTM medium / referrer, and last-click, linear and
position-based (40/20/40) credit per channel. touchpath runs the same job (COMPARABLE_CONFIG),
and after the timed rounds the three engines' credits per model and channel are checked against
each other, and touchpath's last-non-direct, first-click and time-decay credits against the
SQL's (run once more, untimed): a disagreement is printed and fails the run.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys

SQL_INPUTS = r"""
WITH raw AS (
  SELECT client_id,
         strptime(date_time, '%d.%m.%Y %H:%M:%S') AS ts,
         -- A visit whose tag columns are empty takes its medium from the landing page's query;
         -- a Yandex or Google click id there is a paid click.
         CASE
           WHEN utm_source IS NOT NULL OR utm_medium IS NOT NULL OR utm_campaign IS NOT NULL THEN coalesce(utm_medium, '')
           WHEN landing_page LIKE '%utm_medium=%' THEN split_part(split_part(split_part(landing_page, 'utm_medium=', 2), '&', 1), '#', 1)
           WHEN landing_page LIKE '%yclid=%' OR landing_page LIKE '%gclid=%' THEN 'cpc'
           ELSE ''
         END AS medium,
         coalesce(referrer, '') AS referrer
  FROM read_csv('{dir}/visits.csv', delim=';', header=true, all_varchar=true)
),
v AS (
  SELECT client_id, ts,
         CASE
           WHEN medium IN ('cpc', 'ppc', 'paid') THEN 'Paid Search'
           WHEN medium IN ('paid_social') THEN 'Paid Social'
           WHEN medium IN ('display', 'cpm', 'banner') THEN 'Display'
           WHEN medium IN ('affiliate', 'cpa') THEN 'Affiliates'
           WHEN medium = 'email' THEN 'Email'
           WHEN medium <> '' THEN '(other)'
           WHEN referrer = '' OR referrer LIKE '%shop.example.ru%' THEN 'Direct'
           WHEN referrer LIKE '%yandex.ru/search%' OR referrer LIKE '%google.%' THEN 'Organic Search'
           WHEN referrer LIKE '%vk.com%' OR referrer LIKE '%habr.com%' THEN 'Organic Social'
           ELSE 'Referral'
         END AS channel
  FROM raw
),
o AS (
  SELECT "Номер заказа" AS order_id, "ClientID" AS client_id,
         strptime("Дата создания", '%d.%m.%Y %H:%M') AS ts,
         CAST(replace(replace("Сумма", ' ', ''), ',', '.') AS DOUBLE) AS revenue
  FROM read_csv('{dir}/orders.csv', delim=';', header=true, all_varchar=true)
  WHERE lower("Статус") NOT IN ('отменён', 'отменен', 'возврат')
),
"""

# Each model's credit to a touch of an order's path: k is the touch's place in the path (1 is the
# first), n the path's length; lnd is the place of the last touch that is not Direct (n when every
# touch is), td the touch's time-decay weight (half-life 7 days) normalized over the path.
SQL_CREDITS = {
    "last-click": "CASE WHEN k = n THEN 1.0 ELSE 0.0 END",
    "linear": "1.0 / n",
    "position-based": "CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 WHEN k = 1 OR k = n THEN 0.4 ELSE 0.2 / (n - 2) END",
    "first-click": "CASE WHEN k = 1 THEN 1.0 ELSE 0.0 END",
    "last-non-direct": "CASE WHEN k = lnd THEN 1.0 ELSE 0.0 END",
    "time-decay": "td",
}

# The timed job's models; the others are computed once more, untimed, to check touchpath's.
COMPARABLE_MODELS = ["last-click", "linear", "position-based"]
CHECKED_MODELS = ["last-click", "last-non-direct", "first-click", "linear", "position-based", "time-decay"]


def engines_sql(models, reset=False):
    """The SQL job crediting `models`: an order's path is the visits of its client id in the 30
    days before it, in time order (ties by channel); an order with none is Direct. With `reset`,
    a path starts after the client id's previous order (a visit at that order's instant belongs
    to it, and of two orders at one instant the first by id takes the visits)."""
    inputs, join = SQL_INPUTS, "o JOIN v ON v.client_id = o.client_id AND v.ts <= o.ts AND v.ts >= o.ts - INTERVAL 30 DAY"
    if reset:
        inputs += r"""op AS (
  SELECT *, lag(ts) OVER (PARTITION BY client_id ORDER BY ts, order_id) AS prev_ts FROM o WHERE client_id IS NOT NULL
),
"""
        join = "op o JOIN v ON v.client_id = o.client_id AND v.ts <= o.ts AND v.ts >= o.ts - INTERVAL 30 DAY AND (o.prev_ts IS NULL OR v.ts > o.prev_ts)"
    # Last-non-direct and time-decay need more of each path than its places; the timed job's
    # models are computed without them.
    extra = "last-non-direct" in models or "time-decay" in models
    decay = "pow(2.0, -(epoch(o.ts) - epoch(v.ts)) / 604800.0) AS decay,\n         " if extra else ""
    more = r""", coalesce(max(CASE WHEN channel <> 'Direct' THEN k END) OVER (PARTITION BY order_id), n) AS lnd,
         decay / sum(decay) OVER (PARTITION BY order_id) AS td""" if extra else ""
    t = f"""t0 AS (
  SELECT o.order_id, o.revenue, v.channel,
         {decay}row_number() OVER (PARTITION BY o.order_id ORDER BY v.ts, v.channel) AS k,
         count(*) OVER (PARTITION BY o.order_id) AS n
  FROM {join}
),
t AS (
  SELECT *{more}
  FROM t0
),"""
    credits = "\n  UNION ALL ".join(f"SELECT channel, '{m}' AS model, {SQL_CREDITS[m]} AS c, revenue FROM t" for m in models)
    names = ", ".join(f"('{m}')" for m in models)
    return inputs + t + f"""
w AS (
  {credits}
  UNION ALL SELECT 'Direct', m.model, 1.0, o.revenue
  FROM o CROSS JOIN (VALUES {names}) m(model)
  WHERE o.order_id NOT IN (SELECT order_id FROM t)
)
SELECT model, channel, sum(c) AS conversions, sum(c * revenue) AS revenue
FROM w GROUP BY model, channel ORDER BY model, channel
"""

POLARS_JOB = r"""
import sys, polars as pl
d = sys.argv[1]
land = pl.col("landing_page").fill_null("")
ref = pl.col("referrer").fill_null("")
tagged = pl.col("utm_source").is_not_null() | pl.col("utm_medium").is_not_null() | pl.col("utm_campaign").is_not_null()
# A visit whose tag columns are empty takes its medium from the landing page's query; a Yandex or
# Google click id there is a paid click.
med = (pl.when(tagged).then(pl.col("utm_medium").fill_null(""))
    .when(land.str.contains("utm_medium=", literal=True)).then(land.str.extract(r"utm_medium=([^&#]*)", 1))
    .when(land.str.contains("yclid=", literal=True) | land.str.contains("gclid=", literal=True)).then(pl.lit("cpc"))
    .otherwise(pl.lit("")))
channel = (pl.when(med.is_in(["cpc", "ppc", "paid"])).then(pl.lit("Paid Search"))
    .when(med == "paid_social").then(pl.lit("Paid Social"))
    .when(med.is_in(["display", "cpm", "banner"])).then(pl.lit("Display"))
    .when(med.is_in(["affiliate", "cpa"])).then(pl.lit("Affiliates"))
    .when(med == "email").then(pl.lit("Email"))
    .when(med != "").then(pl.lit("(other)"))
    .when((ref == "") | ref.str.contains("shop.example.ru", literal=True)).then(pl.lit("Direct"))
    .when(ref.str.contains("yandex.ru/search", literal=True) | ref.str.contains("google.", literal=True)).then(pl.lit("Organic Search"))
    .when(ref.str.contains("vk.com", literal=True) | ref.str.contains("habr.com", literal=True)).then(pl.lit("Organic Social"))
    .otherwise(pl.lit("Referral")))
v = (pl.scan_csv(f"{d}/visits.csv", separator=";", infer_schema=False)
     .select(pl.col("client_id"), pl.col("date_time").str.strptime(pl.Datetime, "%d.%m.%Y %H:%M:%S").alias("ts"), channel.alias("channel")))
o = (pl.scan_csv(f"{d}/orders.csv", separator=";", infer_schema=False)
     .rename({"Номер заказа": "order_id", "ClientID": "client_id", "Дата создания": "created", "Сумма": "sum", "Статус": "status"})
     .filter(~pl.col("status").str.to_lowercase().is_in(["отменён", "отменен", "возврат"]))
     .select("order_id", "client_id", pl.col("created").str.strptime(pl.Datetime, "%d.%m.%Y %H:%M").alias("ots"),
             pl.col("sum").str.replace_all(" ", "").str.replace(",", ".").cast(pl.Float64).alias("revenue")))
t = (o.join(v, on="client_id", how="inner")
     .filter((pl.col("ts") <= pl.col("ots")) & (pl.col("ts") >= pl.col("ots") - pl.duration(days=30)))
     .sort(["order_id", "ts", "channel"])
     .with_columns(k=pl.int_range(1, pl.len() + 1).over("order_id"), n=pl.len().over("order_id")))
n, k = pl.col("n"), pl.col("k")
parts = [
    t.select("channel", "revenue", pl.lit("last-click").alias("model"), pl.when(k == n).then(1.0).otherwise(0.0).alias("c")),
    t.select("channel", "revenue", pl.lit("linear").alias("model"), (1.0 / n).alias("c")),
    t.select("channel", "revenue", pl.lit("position-based").alias("model"),
             pl.when(n == 1).then(1.0).when(n == 2).then(0.5).when((k == 1) | (k == n)).then(0.4).otherwise(0.2 / (n - 2)).alias("c")),
]
touched = t.select("order_id").unique()
direct = o.join(touched, on="order_id", how="anti")
for m in ["last-click", "linear", "position-based"]:
    parts.append(direct.select(pl.lit("Direct").alias("channel"), "revenue", pl.lit(m).alias("model"), pl.lit(1.0).alias("c")))
out = (pl.concat(parts).group_by("model", "channel")
       .agg(pl.col("c").sum().alias("conversions"), (pl.col("c") * pl.col("revenue")).sum().alias("revenue"))
       .sort("model", "channel").collect())
out.write_csv(f"{d}/out-polars.csv")
"""


# touchpath's config of the comparable job: the same job as the SQL's, so that the three engines'
# results can be checked against each other. Customers are client ids alone (the visits' user id
# and the orders' e-mail, which a field of that name would read, are set to no value; the orders'
# phones and CRM ids are not mapped), every order credits the 30 days before it (no reset after
# a customer's previous order), and the statuses the SQL drops are the ones excluded.
COMPARABLE_CONFIG = """\
# The comparable job of benches/compare.py: visits and orders, customers joined on client id alone.
timezone = "Europe/Moscow"
lookback = "30d"
reset_after_conversion = false
currency = "RUB"
excluded_statuses = ["отменён", "отменен", "возврат"]

[models]
position_weights = [40, 20, 40]

[channels]
site_domains = ["shop.example.ru"]

[[sources]]
kind = "visits"
path = "visits.csv"
[sources.columns]
started_at = "date_time"
[sources.constants]
user_id = ""

[[sources]]
kind = "orders"
path = "orders.csv"
[sources.columns]
order_id = "Номер заказа"
created_at = "Дата создания"
status = "Статус"
revenue = "Сумма"
client_id = "ClientID"
[sources.constants]
email = ""
"""

HEURISTIC = "last-click,last-non-direct,first-click,linear,position-based,time-decay,ropo"


def timed(cmd):
    """Wall seconds and peak resident memory (MiB) of one run, measured by GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        # A job that fails (out of memory, refused by touchpath's memory check) is reported as
        # such and the others still run.
        raise RuntimeError(out.stderr.strip().splitlines()[0] if out.stderr.strip() else f"exit {out.returncode}")
    wall, kib = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024.0


def prepare(d):
    """Parquet twins of the CSV exports (text columns, as exported), written once, and the configs
    of the Parquet and comparable jobs."""
    import polars as pl

    files = ["visits", "calls", "orders", "receipts", "touches", "loyalty", "accounts", "costs"]
    cp1251 = {"calls", "receipts"}
    for f in files:
        target = f"{d}/{f}.parquet"
        if os.path.exists(target):
            continue
        src = f"{d}/{f}.csv"
        if f in cp1251:
            with open(src, "rb") as fh:
                text = fh.read().decode("cp1251")
            tmp = f"{d}/{f}.utf8.csv"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            src = tmp
        sep = "," if f in ("touches", "accounts") else ";"
        pl.read_csv(src, separator=sep, infer_schema=False).write_parquet(target)
        if src.endswith(".utf8.csv"):
            os.remove(src)
    with open(f"{d}/touchpath.toml", encoding="utf-8") as fh:
        cfg = fh.read()
    with open(f"{d}/touchpath-comparable.toml", "w", encoding="utf-8") as fh:
        fh.write(COMPARABLE_CONFIG)
    with open(f"{d}/touchpath-comparable-reset.toml", "w", encoding="utf-8") as fh:
        fh.write(COMPARABLE_CONFIG.replace("reset_after_conversion = false", "reset_after_conversion = true"))
    cfg = cfg.replace(".csv\"", ".parquet\"").replace('encoding = "cp1251"\n', "")
    with open(f"{d}/touchpath-parquet.toml", "w", encoding="utf-8") as fh:
        fh.write(cfg)


def one(args_list):
    """Runs a single engine job in this process (the child of `timed`)."""
    kind, d = args_list[0], args_list[1]
    if kind.startswith("duckdb"):
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads = {os.cpu_count()}")
        # The checks credit every model they compare, untimed; `-reset` starts paths after the
        # previous order.
        models = COMPARABLE_MODELS if kind == "duckdb" else CHECKED_MODELS
        out = {"duckdb": "out-duckdb.csv", "duckdb-check": "out-duckdb-check.csv", "duckdb-check-reset": "out-duckdb-check-reset.csv"}[kind]
        rows = con.execute(engines_sql(models, reset=kind.endswith("-reset")).format(dir=d)).fetchall()
        with open(f"{d}/{out}", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["model", "channel", "conversions", "revenue"])
            w.writerows(rows)
    elif kind == "polars":
        sys.argv = ["job", d]
        exec(compile(POLARS_JOB, "polars_job", "exec"), {})


def report_job(tp, d, config, models, out="out.csv"):
    """touchpath's report of `models` on the exports in `d`, as `config` maps them."""
    return [tp, "report", "--config", f"{d}/{config}", "-m", models, "-q", "-o", f"{d}/{out}"]


def heuristic_job(tp, d):
    """touchpath's CSV job with every heuristic model and ROPO, on the exports in `d`."""
    return report_job(tp, d, "touchpath.toml", HEURISTIC)


def rounds(jobs, runs):
    """Times every job `runs` times, a round of every job after another, so that the jobs a ratio
    compares ran minutes apart at most, under the same conditions (these machines are noisy, and
    a virtual machine's memory costs more the longer it lay free). Returns each job's walls and
    peaks, or the error that stopped it. Each run's time goes to stderr as it ends: an L round
    takes minutes, and the table comes only after the last."""
    out = {name: {"walls": [], "peaks": []} for name, _ in jobs}
    for i in range(runs):
        for name, cmd in jobs:
            r = out[name]
            if "failed" in r:
                continue
            try:
                w, p = timed(cmd)
            except RuntimeError as e:
                print(f"{name:70} FAILED: {e}", flush=True)
                r["failed"] = str(e)
                continue
            r["walls"].append(w)
            r["peaks"].append(p)
            print(f"round {i + 1}/{runs}: {name}: {w:.2f} s, {p:.0f} MiB", file=sys.stderr, flush=True)
    return out


def credits(path):
    """(model, channel) -> (conversions, revenue) of a comparable job's output, or None if the
    job wrote none."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8", newline="") as fh:
        return {(r["model"], r["channel"]): (float(r["conversions"]), float(r["revenue"])) for r in csv.DictReader(fh)}


def agree(ours_path, engines):
    """Checks that other engines credit every model and channel as touchpath does (`ours_path`)
    on the comparable job: the same job, computed independently. Sums of floating-point credits
    in a different order differ in their last digits, so values agree within a relative 1e-9 (and
    conversions within 1e-9 absolute). Prints the verdict; returns whether they all agree."""
    ours = credits(ours_path)
    if ours is None:
        print("results: touchpath wrote no comparable output; nothing checked")
        return False
    ok = True
    for name, path in engines:
        theirs = credits(path)
        if theirs is None:
            print(f"results: {name} wrote no output; not checked")
            continue
        bad = []
        for key in sorted(set(ours) | set(theirs)):
            a, b = ours.get(key, (0.0, 0.0)), theirs.get(key, (0.0, 0.0))
            if abs(a[0] - b[0]) > 1e-9 * max(1.0, abs(a[0])) or abs(a[1] - b[1]) > 1e-9 * max(1.0, abs(a[1])):
                bad.append(f"  {key[0]:15} {key[1]:20} touchpath {a[0]:.6f} / {a[1]:.2f}  {name} {b[0]:.6f} / {b[1]:.2f}")
        if bad:
            ok = False
            print(f"results: {name} DISAGREES with touchpath on {len(bad)} of {len(set(ours) | set(theirs))} rows (model, channel):")
            print("\n".join(bad))
        else:
            models = len({m for m, _ in ours})
            print(f"results: {name} agrees with touchpath on every model and channel ({models} models, {len(ours)} rows)")
    return ok


def warm(*dirs):
    """Reads every file of the exports into the page cache, so that the first job of the first
    round does not pay for the disk alone (on S, with the files not yet read, that run took three
    times as long)."""
    for d in dirs:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if os.path.isfile(path):
                with open(path, "rb") as fh:
                    while fh.read(16 << 20):
                        pass


def summary(name, r):
    """A job's median, range and peak, as printed and written to results.json."""
    if "failed" in r:
        return {"job": name, "failed": r["failed"]}
    w = r["walls"]
    return {"job": name, "median_s": statistics.median(w), "min_s": min(w), "max_s": max(w), "peak_mib": max(r["peaks"]), "runs_s": w}


def ratio(a, b):
    """Median of the per-round ratios a/b (rounds where both ran), or None."""
    pairs = [x / y for x, y in zip(a["walls"], b["walls"]) if y > 0]
    return statistics.median(pairs) if pairs and "failed" not in a and "failed" not in b else None


def scaling(a):
    """time(L) / time(M): the heuristic CSV job on two sizes, alternating."""
    tp = os.path.abspath(a.touchpath)
    dirs = {"small": a.small, "large": a.large}
    jobs = [(name, heuristic_job(tp, d)) for name, d in dirs.items()]
    warm(*dirs.values())
    out = rounds(jobs, a.runs)
    for name, d in dirs.items():
        r = summary(name, out[name])
        if "median_s" in r:
            print(f"{name} ({d}): median {r['median_s']:.2f} s ({r['min_s']:.2f}–{r['max_s']:.2f})  peak {r['peak_mib']:.0f} MiB  runs {' '.join(f'{x:.2f}' for x in r['runs_s'])}")
    k = ratio(out["large"], out["small"])
    if k is not None:
        print(f"time(large) / time(small): median of the alternating pairs {k:.2f}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        one(sys.argv[2:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--touchpath", required=True)
    ap.add_argument("--small", help="with --large: time the heuristic job on two sizes, alternating")
    ap.add_argument("--large")
    a = ap.parse_args()
    if a.small and a.large:
        scaling(a)
        return
    if not a.dir:
        ap.error("--dir, or --small and --large")
    d = a.dir
    prepare(d)
    tp = os.path.abspath(a.touchpath)
    heuristic = "touchpath CSV, heuristic models + ROPO"
    learning = "touchpath CSV, + markov and shapley"
    comparable = "touchpath CSV, comparable job (visits + orders; last-click, linear, position-based)"
    engines = ["DuckDB SQL, comparable job", "Polars (Python), comparable job"]
    jobs = [
        (heuristic, heuristic_job(tp, d)),
        (learning, report_job(tp, d, "touchpath.toml", HEURISTIC + ",markov,shapley")),
        ("touchpath Parquet, heuristic models + ROPO", report_job(tp, d, "touchpath-parquet.toml", HEURISTIC)),
        (comparable, report_job(tp, d, "touchpath-comparable.toml", "last-click,linear,position-based", "out-comparable.csv")),
        (engines[0], [sys.executable, __file__, "--one", "duckdb", d]),
        (engines[1], [sys.executable, __file__, "--one", "polars", d]),
    ]
    # An engine that fails must not leave an earlier run's output to be checked.
    for f in ("out-comparable.csv", "out-duckdb.csv", "out-polars.csv", "out-check.csv", "out-duckdb-check.csv", "out-check-reset.csv", "out-duckdb-check-reset.csv"):
        if os.path.exists(f"{d}/{f}"):
            os.remove(f"{d}/{f}")
    warm(d)
    out = rounds(jobs, a.runs)
    results = [summary(name, out[name]) for name, _ in jobs]
    for r in results:
        if "median_s" in r:
            print(f"{r['job']:70} median {r['median_s']:7.2f} s  ({r['min_s']:.2f}–{r['max_s']:.2f})  peak {r['peak_mib']:8.0f} MiB", flush=True)
    for name in engines:
        k = ratio(out[name], out[comparable])
        if k is not None:
            print(f"{name}: {k:.2f}× the time of touchpath on the same job (median of the rounds' ratios)")
    k = ratio(out[learning], out[heuristic])
    if k is not None:
        print(f"markov + shapley add {100 * (k - 1):.0f}% over the heuristic run (median of the rounds' ratios)")
    with open(f"{d}/results.json", "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2)
    ok = agree(f"{d}/out-comparable.csv", [(engines[0], f"{d}/out-duckdb.csv"), (engines[1], f"{d}/out-polars.csv")])
    # The other models touchpath and SQL both define on these paths, computed once more, untimed.
    # With paths reset after each order (touchpath's default) too.
    checked = ",".join(CHECKED_MODELS)
    check = [
        report_job(tp, d, "touchpath-comparable.toml", checked, "out-check.csv"),
        [sys.executable, __file__, "--one", "duckdb-check", d],
        report_job(tp, d, "touchpath-comparable-reset.toml", checked, "out-check-reset.csv"),
        [sys.executable, __file__, "--one", "duckdb-check-reset", d],
    ]
    for cmd in check:
        if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
            print(f"results: the check run `{' '.join(cmd[:3])}` failed")
            ok = False
    ok = agree(f"{d}/out-check.csv", [("DuckDB SQL, every model both define (untimed)", f"{d}/out-duckdb-check.csv")]) and ok
    ok = agree(f"{d}/out-check-reset.csv", [("DuckDB SQL, the same with paths reset after each order", f"{d}/out-duckdb-check-reset.csv")]) and ok
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
