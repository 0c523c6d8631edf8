//! `Retry-After` under a configured cap, and the backoff used without one.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::retry_after(data);
});
