//! An `Authorization: Basic …` header sent to `/metrics`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::basic_auth_header(data);
});
