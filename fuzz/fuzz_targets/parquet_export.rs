//! Any bytes as a Parquet export. Errors are fine; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The loader turns the Parquet reader's own panics on malformed metadata into errors; the
    // harness's abort-on-panic hook would otherwise fire before that. A panic anywhere else
    // still unwinds to the harness and is reported.
    std::panic::set_hook(Box::new(|_| {}));
    let _ = touchpath::io::parquet::load("fuzz.parquet", touchpath::config::SourceKind::Visits, data);
});
