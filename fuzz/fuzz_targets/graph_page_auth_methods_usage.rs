//! One Graph page as the `auth_methods_usage` collector reads it: parsed into its row types, then served
//! as every page of a full poll of the collector (see `entra_exporter::fuzzing::graph_page`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::graph_page("auth_methods_usage", data);
});
