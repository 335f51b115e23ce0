//! Any bytes as a report or snapshot given to `check --baseline` or `diff`. Errors are fine; a
//! panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = touchpath::reports::baseline::read("fuzz", data) {
        let tol = touchpath::reports::baseline::Tolerance { rel: 0.01, abs: 0.0 };
        let _ = touchpath::reports::baseline::compare(&b.data, &b.data, tol);
    }
});
