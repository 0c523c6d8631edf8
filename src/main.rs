//! The `entra-exporter` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    entra_exporter::cli::main()
}
