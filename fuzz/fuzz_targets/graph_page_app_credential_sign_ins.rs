//! One Graph page as the `app_credential_sign_ins` collector reads it: parsed into its row types, then served
//! as every page of a full poll of the collector (see `entra_exporter::fuzzing::graph_page`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::graph_page("app_credential_sign_ins", data);
});
