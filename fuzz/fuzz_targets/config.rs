//! Any text as a touchpath.toml. Errors are fine; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = touchpath::config::Config::from_toml(text, "fuzz.toml", None, None);
    }
});
