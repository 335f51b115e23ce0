//! Any bytes as a CSV export of any kind, through the whole pipeline: load, normalize, stitch,
//! paths and every model. Errors are fine; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use touchpath::config::{Config, Encoding, SourceKind};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let kind = SourceKind::ALL[selector as usize % SourceKind::ALL.len()];
    let encoding = [Encoding::Auto, Encoding::Utf8, Encoding::Cp1251][(selector as usize / 8) % 3];
    let Ok(table) = touchpath::io::csv::load("fuzz.csv", kind, bytes, None, encoding) else { return };
    let toml = format!("timezone = \"Europe/Moscow\"\n[[sources]]\nkind = \"{}\"\npath = \"fuzz.csv\"\n", kind.name());
    let Ok(cfg) = Config::from_toml(&toml, "fuzz", None, None) else { return };
    let Ok(data) = touchpath::normalize::normalize(&cfg, &[table]) else { return };
    let set = touchpath::paths::build(data, &cfg);
    let Ok(models) = touchpath::models::select("all", &cfg.models, &set) else { return };
    let sel = touchpath::reports::Selection::all();
    let _ = touchpath::reports::attribute(&set, &models, touchpath::reports::Dimension::Channel, &sel, "", None);
});
