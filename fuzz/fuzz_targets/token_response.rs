//! A token endpoint answer (client credentials, IMDS, App Service), success or error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::token_response(data);
});
