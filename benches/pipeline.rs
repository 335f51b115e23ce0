//! criterion micro-benchmarks of the pipeline's stages, so a regression in one stage shows up
//! on its own: loading, normalizing (interning, parsing, channel rules), stitching (identifier
//! pairs, union-find, customer keys), path building, and each model's attribution pass; and, on
//! seeded identifiers of the shape exports carry, interning and union-find on their own.
//!
//! By default they run on the demo exports built into the binary. To measure at scale, generate
//! data and point `TOUCHPATH_BENCH_CONFIG` at a config for it:
//!
//! ```text
//! cargo run --release --example generate -- --out bench-data/s --visits 1000000
//! cp testdata/demo/touchpath.toml bench-data/s/
//! TOUCHPATH_BENCH_CONFIG=bench-data/s/touchpath.toml cargo bench --bench pipeline
//! ```

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use touchpath::config::Config;
use touchpath::identity::{IdGraph, IdKind, LocalIds, Records};
use touchpath::models::labels::Dimension;
use touchpath::reports::{attribute, Selection};

fn config() -> Config {
    match std::env::var_os("TOUCHPATH_BENCH_CONFIG") {
        Some(p) => Config::locate(Some(std::path::Path::new(&p))).expect("TOUCHPATH_BENCH_CONFIG names a readable config"),
        None => touchpath::io::demo::config().expect("the demo config is valid"),
    }
}

fn stages(c: &mut Criterion) {
    let cfg = config();
    let mut g = c.benchmark_group("stages");
    g.sample_size(10);
    g.bench_function("load", |b| b.iter(|| cfg.sources.iter().map(|s| touchpath::io::load(s).expect("loads")).collect::<Vec<_>>()));
    let tables: Vec<_> = cfg.sources.iter().map(|s| touchpath::io::load(s).expect("loads")).collect();
    g.bench_function("normalize", |b| b.iter(|| touchpath::normalize::normalize(&cfg, &tables).expect("normalizes")));
    g.bench_function("load+normalize (streaming, as a run does)", |b| {
        b.iter(|| touchpath::normalize::load_and_normalize(&cfg, &|_| {}).expect("normalizes"))
    });
    let data = touchpath::normalize::normalize(&cfg, &tables).expect("normalizes");
    g.bench_function("stitch (union-find, customer keys)", |b| b.iter(|| touchpath::paths::stitch_customers(&data, &cfg)));
    g.bench_function("paths", |b| {
        b.iter_batched(
            || {
                let data = touchpath::normalize::normalize(&cfg, &tables).expect("normalizes");
                let stitching = touchpath::paths::stitch_customers(&data, &cfg);
                (data, stitching)
            },
            |(data, stitching)| touchpath::paths::assemble(data, stitching, &cfg, touchpath::paths::Journeys::All),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn models(c: &mut Criterion) {
    let cfg = config();
    let tables: Vec<_> = cfg.sources.iter().map(|s| touchpath::io::load(s).expect("loads")).collect();
    let set = touchpath::paths::build(touchpath::normalize::normalize(&cfg, &tables).expect("normalizes"), &cfg);
    let mut g = c.benchmark_group("models");
    g.sample_size(10);
    for model in touchpath::models::registry(&cfg.models) {
        let name = model.name();
        let one = vec![model];
        g.bench_function(name, |b| b.iter(|| attribute(&set, &one, Dimension::Channel, &Selection::all(), "", None).expect("attributes")));
    }
    g.finish();
}

/// Seeded rows of identifiers as a visits export carries them: a 19-digit client id from a pool
/// of 400k on every row, a phone on one row in ten and an e-mail on one in twenty, each from a
/// pool small enough that they join clients into customers.
fn id_rows(n: usize) -> Vec<(String, Option<String>, Option<String>)> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let client = format!("{}", 1_600_000_000_000_000_000 + next() % 400_000 * 7_919);
            let r = next();
            let phone = (r % 10 == 0).then(|| format!("+7916{:07}", (r >> 8) % 150_000));
            let email = (r % 20 == 1).then(|| format!("user{}@example.ru", (r >> 8) % 60_000));
            (client, phone, email)
        })
        .collect()
}

/// Interns rows in blocks of 100k as the workers do: each block's own ids and records.
fn intern_blocks(rows: &[(String, Option<String>, Option<String>)]) -> (Vec<touchpath::identity::BatchKeys>, Records) {
    let (mut batches, mut all, mut base) = (Vec::new(), Records::default(), 1u32);
    for block in rows.chunks(100_000) {
        let (mut ids, mut records, mut nodes) = (LocalIds::with_capacity(block.len()), Records::with_capacity(block.len()), Vec::new());
        for (client, phone, email) in block {
            nodes.clear();
            nodes.push(ids.intern(IdKind::ClientId, client));
            if let Some(p) = phone {
                nodes.push(ids.intern(IdKind::Phone, p));
            }
            if let Some(e) = email {
                nodes.push(ids.intern(IdKind::Email, e));
            }
            ids.end_record();
            records.add(&nodes);
        }
        let keys = ids.into_keys();
        all.append(&records, base);
        base += keys.len();
        batches.push(keys);
    }
    (batches, all)
}

fn identifiers(c: &mut Criterion) {
    let rows = id_rows(1_000_000);
    let mut g = c.benchmark_group("identifiers");
    g.sample_size(10);
    g.bench_function("intern (1M rows in blocks of 100k)", |b| b.iter(|| intern_blocks(&rows)));
    g.bench_function("resolve (run-wide ids of 1M rows' keys)", |b| {
        b.iter_batched(
            || intern_blocks(&rows),
            |(batches, records)| IdGraph::from_batches(batches, records).expect("resolves"),
            BatchSize::LargeInput,
        )
    });
    let (batches, records) = intern_blocks(&rows);
    let graph = IdGraph::from_batches(batches, records).expect("resolves");
    g.bench_function("union-find (customers of 1M records)", |b| b.iter(|| touchpath::identity::stitch(&graph, 1000, "bench")));
    // A visit's tags: ten thousand distinct texts, read a million times.
    let tags: Vec<String> = rows.iter().map(|(client, _, _)| format!("campaign_{}", &client[client.len() - 4..])).collect();
    g.bench_function("intern strings (1M tags, 10k distinct)", |b| {
        b.iter(|| {
            let mut strings = touchpath::intern::Interner::new();
            tags.iter().map(|t| strings.intern(t) as u64).sum::<u64>()
        })
    });
    g.finish();
}

criterion_group!(benches, stages, models, identifiers);
criterion_main!(benches);
