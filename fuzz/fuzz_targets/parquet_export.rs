//! Any bytes as a Parquet export. Errors are fine; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = touchpath::io::parquet::load("fuzz.parquet", touchpath::config::SourceKind::Visits, data);
});
