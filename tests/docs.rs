//! Keeps `docs/metrics.md` honest: its generated table must equal what the metric specs in
//! the code say. `UPDATE_DOCS=1 cargo test --test docs` rewrites the table from the code.

use std::path::Path;

use entra_exporter::metric_catalogue;

const BEGIN: &str = "<!-- BEGIN GENERATED METRICS TABLE: edit the MetricSpecs in src/, then run `UPDATE_DOCS=1 cargo test --test docs` -->";
const END: &str = "<!-- END GENERATED METRICS TABLE -->";

fn generated_table() -> String {
    let mut out = String::new();
    for group in metric_catalogue() {
        out.push_str(&format!(
            "\n### `{}`\n\n{}.\n\n| Metric | Type | Labels | Source endpoint | Permission | Help |\n|---|---|---|---|---|---|\n",
            group.name, group.description
        ));
        for m in group.metrics {
            let labels = m
                .labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "| `{}` | {} | {} | `{}` | {} | {} |\n",
                m.name,
                m.kind.as_str(),
                labels,
                m.source.replace('|', "\\|"),
                m.permission,
                m.help.replace('|', "\\|")
            ));
        }
    }
    out.push('\n');
    out
}

#[test]
fn metrics_doc_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md");
    let doc = std::fs::read_to_string(&path).expect("docs/metrics.md exists");
    let (Some(start), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/metrics.md lacks the generated-table markers:\n{BEGIN}\n{END}");
    };
    let current = &doc[start + BEGIN.len()..end];
    let expected = generated_table();
    if current != expected {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{expected}{}", &doc[..start], &doc[end..]);
            std::fs::write(&path, updated).expect("write docs/metrics.md");
            return;
        }
        panic!(
            "docs/metrics.md is out of date with the metric specs; run `UPDATE_DOCS=1 cargo test --test docs`.\nExpected table:\n{expected}"
        );
    }
}

#[test]
fn every_metric_name_follows_the_conventions() {
    let mut seen = std::collections::HashSet::new();
    for group in metric_catalogue() {
        for m in group.metrics {
            assert!(seen.insert(m.name), "{} is defined twice", m.name);
            assert!(
                m.name.starts_with("entra_"),
                "{} lacks the namespace",
                m.name
            );
            let is_counter = m.kind == entra_exporter::exposition::MetricKind::Counter;
            assert_eq!(
                m.name.ends_with("_total"),
                is_counter,
                "{}: only counters end in _total",
                m.name
            );
            // promtool check metrics refuses names that contain a metric type.
            for word in ["summary", "histogram", "gauge", "counter"] {
                assert!(
                    !m.name.split('_').any(|w| w == word),
                    "{}: a name must not contain the type word {word:?}",
                    m.name
                );
            }
            if m.name.contains("timestamp") {
                assert!(m.name.ends_with("_timestamp_seconds"), "{}", m.name);
            }
            assert!(!m.help.is_empty(), "{} has no HELP", m.name);
            for forbidden in ["user_id", "user_principal_name", "request_id", "timestamp"] {
                assert!(
                    !m.labels.contains(&forbidden),
                    "{} has an unbounded label {forbidden}",
                    m.name
                );
            }
        }
    }
}

#[test]
fn example_config_parses_strictly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config.yaml");
    let file =
        entra_exporter::config::FileConfig::load(&path).expect("examples/config.yaml is valid");
    assert_eq!(file.tenants.len(), 1);
    for name in file.collectors.keys() {
        assert!(
            entra_exporter::collectors::info(name).is_some(),
            "examples/config.yaml names unknown collector {name}"
        );
    }
}
