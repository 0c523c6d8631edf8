//! A `--web.config.file` (exporter-toolkit format): TLS, basic auth, headers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entra_exporter::fuzzing::web_config_yaml(data);
});
