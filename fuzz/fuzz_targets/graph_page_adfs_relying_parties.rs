//! One Graph page as the `adfs_relying_parties` collector reads it: parsed into its row types, then served
//! as every page of a full poll of the collector (see `entra_exporter::fuzzing::graph_page`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::graph_page("adfs_relying_parties", data);
});
