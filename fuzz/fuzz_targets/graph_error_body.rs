//! A Graph error body (reference §10.1) under an HTTP status, as a collector reports it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::graph_error_body(data);
});
