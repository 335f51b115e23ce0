//! Property tests over random exports, through the whole pipeline (load → normalize → stitch →
//! paths → models): every row is accounted for, each model credits exactly the conversions and
//! revenue there are, and the numbers do not depend on row order, on how a table is split into
//! files, or on the number of threads.

use std::path::Path;

mod common;

use proptest::prelude::*;

use touchpath::config::Config;
use touchpath::models::registry;
use touchpath::reports::{attribute, Dimension, Report, Selection};

const SOURCES: [(&str, &str); 5] = [("yandex", "cpc"), ("google", "organic"), ("newsletter", "email"), ("vk", "social"), ("", "")];
const REFERRERS: [&str; 4] = ["", "https://yandex.ru/search/?text=x", "https://blog.example.com/a", "https://shop.test/cart"];
/// Values as they come in real exports, bad ones included: each must be used or rejected.
const MONEY: [&str; 6] = ["1 000,50", "250", "12,5o", "-10", "3 999.99", ""];
const TIMES: [&str; 3] = ["%d.%m.%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S+03:00", "%d.%m.%Y %H:%M"];

#[derive(Clone, Debug)]
struct Visit {
    client: u8,
    minute: u32,
    source: usize,
    referrer: usize,
    phone: Option<u8>,
    fmt: usize,
}

#[derive(Clone, Debug)]
struct Order {
    id: u8,
    client: Option<u8>,
    phone: Option<u8>,
    minute: u32,
    money: usize,
    cancelled: bool,
}

#[derive(Clone, Debug)]
struct Receipt {
    id: u8,
    card: Option<u8>,
    phone: Option<u8>,
    minute: u32,
    money: usize,
    order: Option<u8>,
}

#[derive(Clone, Debug)]
struct Exports {
    visits: Vec<Visit>,
    orders: Vec<Order>,
    receipts: Vec<Receipt>,
}

fn exports() -> impl Strategy<Value = Exports> {
    // Minutes within 60 days; few clients and phones so identities collide and join.
    let minute = 0u32..60 * 24 * 60;
    let visit = (0u8..12, minute.clone(), 0..SOURCES.len(), 0..REFERRERS.len(), prop::option::weighted(0.3, 0u8..6), 0..TIMES.len())
        .prop_map(|(client, minute, source, referrer, phone, fmt)| Visit { client, minute, source, referrer, phone, fmt });
    let order = (0u8..20, prop::option::of(0u8..12), prop::option::of(0u8..6), minute.clone(), 0..MONEY.len(), prop::bool::weighted(0.15))
        .prop_map(|(id, client, phone, minute, money, cancelled)| Order { id, client, phone, minute, money, cancelled });
    let receipt =
        (0u8..20, prop::option::of(0u8..5), prop::option::of(0u8..6), minute, 0..MONEY.len(), prop::option::weighted(0.2, 0u8..20))
            .prop_map(|(id, card, phone, minute, money, order)| Receipt { id, card, phone, minute, money, order });
    (prop::collection::vec(visit, 0..60), prop::collection::vec(order, 0..15), prop::collection::vec(receipt, 0..15))
        .prop_map(|(visits, orders, receipts)| Exports { visits, orders, receipts })
}

fn time(minute: u32, fmt: &str) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2026, 8, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    (base + chrono::Duration::minutes(minute as i64)).format(fmt).to_string()
}

fn phone(p: Option<u8>) -> String {
    p.map(|p| format!("8 (915) 000-00-0{p}")).unwrap_or_default()
}

fn visit_lines(v: &[Visit]) -> Vec<String> {
    v.iter()
        .map(|v| {
            let (s, m) = SOURCES[v.source];
            format!("c{};{};{s};{m};{};{}", v.client, time(v.minute, TIMES[v.fmt]), REFERRERS[v.referrer], phone(v.phone))
        })
        .collect()
}

/// Writes the exports (visits split over `visit_files` files, rows in the given order) and a
/// config reading them; returns the config.
fn write(dir: &Path, e: &Exports, visit_files: usize, reverse: bool) -> Config {
    let order = |mut lines: Vec<String>| {
        if reverse {
            lines.reverse();
        }
        lines
    };
    let visits = order(visit_lines(&e.visits));
    let mut toml = String::from(
        "timezone = \"Europe/Moscow\"\nlookback = \"30d\"\nmax_customers_per_identifier = 4\n[channels]\nsite_domains = [\"shop.test\"]\n",
    );
    let per = visits.len().div_ceil(visit_files.max(1)).max(1);
    let chunks: Vec<&[String]> = if visits.is_empty() { vec![&[][..]] } else { visits.chunks(per).collect() };
    for (i, chunk) in chunks.iter().enumerate() {
        let name = format!("visits{i}.csv");
        let body: String = chunk.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.join(&name), format!("client_id;started_at;utm_source;utm_medium;referrer;phone\n{body}")).unwrap();
        toml.push_str(&format!("[[sources]]\nkind = \"visits\"\npath = \"{name}\"\ndelimiter = \";\"\n"));
    }
    let orders = order(
        e.orders
            .iter()
            .map(|o| {
                let status = if o.cancelled { "Отменён" } else { "Выполнен" };
                let client = o.client.map(|c| format!("c{c}")).unwrap_or_default();
                format!("o{};{};{status};\"{}\";{client};{}", o.id, time(o.minute, "%d.%m.%Y %H:%M"), MONEY[o.money], phone(o.phone))
            })
            .collect(),
    );
    let body: String = orders.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("orders.csv"), format!("order_id;created_at;status;revenue;client_id;phone\n{body}")).unwrap();
    let receipts = order(
        e.receipts
            .iter()
            .map(|r| {
                let card = r.card.map(|c| format!("card{c}")).unwrap_or_default();
                let ord = r.order.map(|o| format!("o{o}")).unwrap_or_default();
                format!("r{};{};\"{}\";{card};{};{ord}", r.id, time(r.minute, "%d.%m.%Y %H:%M"), MONEY[r.money], phone(r.phone))
            })
            .collect(),
    );
    let body: String = receipts.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("receipts.csv"), format!("receipt_id;purchased_at;amount;loyalty_card;phone;order_id\n{body}")).unwrap();
    toml.push_str("[[sources]]\nkind = \"orders\"\npath = \"orders.csv\"\ndelimiter = \";\"\n");
    toml.push_str("[[sources]]\nkind = \"receipts\"\npath = \"receipts.csv\"\ndelimiter = \";\"\n");
    Config::from_toml(&toml, "props", Some(dir), None).unwrap()
}

struct Run {
    report: Report,
    conversions: usize,
    revenue: f64,
}

fn run(cfg: &Config) -> Run {
    let tables: Vec<_> = cfg.sources.iter().map(|s| touchpath::io::load(s).unwrap()).collect();
    let data = touchpath::normalize::normalize(cfg, &tables).unwrap();
    for f in &data.summary.files {
        let filtered: u64 = f.filtered.values().sum();
        let rejected: u64 = f.rejected.values().sum();
        assert_eq!(f.rows_read, f.used + filtered + rejected, "{}: rows do not add up", f.file);
    }
    let set = touchpath::paths::build(data, cfg);
    let conversions = set.conversions.len();
    let revenue = set.conversions.iter().map(|c| c.revenue).sum();
    let models = registry(&cfg.models).into_iter().filter(|m| m.applicable(&set).is_ok()).collect::<Vec<_>>();
    let report = attribute(&set, &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
    Run { report, conversions, revenue }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_model_credits_exactly_the_conversions_there_are(e in exports()) {
        let dir = tempfile::tempdir().unwrap();
        let r = run(&write(dir.path(), &e, 1, false));
        for (m, (conv, rev)) in r.report.models.iter().zip(&r.report.totals) {
            prop_assert!((conv - r.conversions as f64).abs() < 1e-9, "{m}: {conv} credited for {} conversions", r.conversions);
            prop_assert!((rev - r.revenue).abs() < 1e-6 * r.revenue.max(1.0), "{m}: {rev} credited for {} revenue", r.revenue);
        }
    }

    #[test]
    fn numbers_do_not_depend_on_row_order_file_splitting_or_threads(e in exports()) {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let base = run(&write(a.path(), &e, 1, false)).report;
        let shuffled = run(&write(b.path(), &e, 3, true)).report;
        prop_assert_eq!(&base.rows, &shuffled.rows);
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let single = one_thread.install(|| run(&write(a.path(), &e, 1, false)).report);
        prop_assert_eq!(&base.rows, &single.rows);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Streaming reads files in blocks on several threads; tiny blocks must give the same rows,
    /// accounting and numbers as whole files.
    #[test]
    fn streaming_in_tiny_blocks_changes_nothing(e in exports(), block in 1usize..200) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(dir.path(), &e, 2, false);
        let whole = run(&cfg);
        touchpath::io::csv::set_block_bytes(block);
        let data = touchpath::normalize::load_and_normalize(&cfg, &|_| {});
        touchpath::io::csv::set_block_bytes(4 << 20);
        let data = data.unwrap();
        let tables: Vec<_> = cfg.sources.iter().map(|s| touchpath::io::load(s).unwrap()).collect();
        let reference = touchpath::normalize::normalize(&cfg, &tables).unwrap();
        for (a, b) in data.summary.files.iter().zip(&reference.summary.files) {
            prop_assert_eq!((a.rows_read, a.used, &a.filtered, &a.rejected), (b.rows_read, b.used, &b.filtered, &b.rejected));
        }
        prop_assert_eq!(&data.summary.rejects, &reference.summary.rejects);
        let set = touchpath::paths::build(data, &cfg);
        let models = registry(&cfg.models).into_iter().filter(|m| m.applicable(&set).is_ok()).collect::<Vec<_>>();
        let report = attribute(&set, &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
        prop_assert_eq!(&report.rows, &whole.report.rows);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// A Parquet row group is normalized in pieces of a CSV block's size, on several threads;
    /// tiny pieces must give the same accounting and numbers as the CSV file.
    #[test]
    fn parquet_row_groups_in_tiny_pieces_change_nothing(e in exports(), block in 1usize..200) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = write(dir.path(), &e, 1, false);
        let whole = run(&cfg);
        let parquet = dir.path().join("visits0.parquet");
        let csv = std::fs::read_to_string(dir.path().join("visits0.csv")).unwrap();
        common::csv_to_parquet(&csv, b';', None, &parquet);
        let visits = cfg.sources.iter_mut().find(|s| s.kind == touchpath::config::SourceKind::Visits).unwrap();
        visits.location = touchpath::config::Location::File(parquet);
        visits.format = touchpath::config::FileFormat::Parquet;
        touchpath::io::csv::set_block_bytes(block);
        let data = touchpath::normalize::load_and_normalize(&cfg, &|_| {});
        touchpath::io::csv::set_block_bytes(4 << 20);
        let data = data.unwrap();
        let visits = data.summary.files.iter().find(|f| f.kind == "visits").unwrap();
        prop_assert_eq!(visits.rows_read as usize, e.visits.len());
        let set = touchpath::paths::build(data, &cfg);
        let models = registry(&cfg.models).into_iter().filter(|m| m.applicable(&set).is_ok()).collect::<Vec<_>>();
        let report = attribute(&set, &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
        prop_assert_eq!(&report.rows, &whole.report.rows);
    }
}

/// Labels are numbered in order of first appearance over the timelines. With more touches than
/// one chunk of the parallel pass, channels first seen in a later chunk (social and email
/// visits of the last customers) must still be numbered after the earlier ones, and every
/// touch must get its own label, in every one-tag dimension and in source / medium.
#[test]
fn labels_are_numbered_by_first_appearance_across_chunks() {
    use touchpath::models::labels::Labels;
    let visits: Vec<Visit> = (0..81_920u32)
        .map(|i| {
            let client = (i / 320) as u8;
            let source = match client {
                230.. if i % 3 == 0 => 3,
                210.. if i % 7 == 0 => 2,
                _ => [0, 1, 4][i as usize % 3],
            };
            Visit { client, minute: i % 80_000, source, referrer: (i % 5 == 0) as usize, phone: None, fmt: 0 }
        })
        .collect();
    let e = Exports {
        visits,
        orders: vec![Order { id: 1, client: Some(3), phone: None, minute: 50, money: 1, cancelled: false }],
        receipts: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), &e, 1, false);
    let tables: Vec<_> = cfg.sources.iter().map(|s| touchpath::io::load(s).unwrap()).collect();
    let set = touchpath::paths::build(touchpath::normalize::normalize(&cfg, &tables).unwrap(), &cfg);
    assert!(set.touches.len() > 70_000, "{} touches: more than one chunk", set.touches.len());
    for dim in [Dimension::Channel, Dimension::Source, Dimension::Medium, Dimension::Campaign, Dimension::SourceMedium] {
        let labels = Labels::build(&set, dim);
        let (mut names, mut ids) = (Vec::new(), std::collections::HashMap::new());
        let of_touch: Vec<u32> = set
            .touches
            .iter()
            .map(|t| {
                let v = dim.value(&set, t);
                *ids.entry(v.clone()).or_insert_with(|| {
                    names.push(v);
                    names.len() as u32 - 1
                })
            })
            .collect();
        assert_eq!(labels.names, names, "{dim:?}");
        assert!(labels.of_touch == of_touch, "{dim:?}: a touch has another label than one pass gives it");
    }
}
