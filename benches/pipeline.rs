//! criterion micro-benchmarks of the pipeline's stages, so a regression in one stage shows up
//! on its own: loading, normalizing (interning, parsing, channel rules), stitching (identifier
//! pairs, union-find, customer keys), path building, and each model's attribution pass.
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

criterion_group!(benches, stages, models);
criterion_main!(benches);
