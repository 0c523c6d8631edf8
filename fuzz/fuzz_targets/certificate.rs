//! A certificate credential file: PEM (plain, PKCS#1, encrypted PKCS#8) or PKCS#12.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::certificate(data);
});
