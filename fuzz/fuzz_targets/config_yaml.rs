//! The config file, parsed and resolved as `--config.check` does.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::config_yaml(data);
});
