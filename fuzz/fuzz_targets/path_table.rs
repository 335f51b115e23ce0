//! Any bytes as an aggregated path table (`report --paths`), then every model over it.
//! Errors are fine; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = touchpath::paths::table::load("fuzz.csv", data, ">") else { return };
    let params = touchpath::config::ModelParams::default();
    let Ok(models) = touchpath::models::select("all", &params, &set) else { return };
    let sel = touchpath::reports::Selection::all();
    let _ = touchpath::reports::attribute(&set, &models, touchpath::reports::Dimension::Channel, &sel, "", None);
});
