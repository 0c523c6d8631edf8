//! Keeps `docs/metrics.md` and the permission table in `docs/authentication.md` honest: their
//! generated tables must equal what the metric specs in the code say.
//! `UPDATE_DOCS=1 cargo test --test docs` rewrites the tables from the code.

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

/// Checks (or, with `UPDATE_DOCS`, rewrites) the text between `begin` and `end` in `doc`.
fn check_generated(doc: &str, begin: &str, end: &str, expected: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let (Some(start), Some(stop)) = (text.find(begin), text.find(end)) else {
        panic!("{doc} lacks the generated-table markers:\n{begin}\n{end}");
    };
    let current = &text[start + begin.len()..stop];
    if current != expected {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{begin}{expected}{}", &text[..start], &text[stop..]);
            std::fs::write(&path, updated).unwrap_or_else(|e| panic!("write {doc}: {e}"));
            return;
        }
        panic!(
            "{doc} is out of date with the code; run `UPDATE_DOCS=1 cargo test --test docs`.\nExpected table:\n{expected}"
        );
    }
}

#[test]
fn metrics_doc_matches_the_code() {
    check_generated("docs/metrics.md", BEGIN, END, &generated_table());
}

/// Each collector with the union of the permissions its metrics need.
fn generated_permissions() -> String {
    let mut out = String::from(
        "\n| Collector | On by default | Application permissions | What it reads |\n|---|---|---|---|\n",
    );
    for info in entra_exporter::collectors::REGISTRY {
        let mut permissions: Vec<&str> = Vec::new();
        let mut sources: Vec<&str> = Vec::new();
        for m in info.metrics {
            for p in m.permission.split(", ").filter(|p| *p != "-") {
                if !permissions.contains(&p) {
                    permissions.push(p);
                }
            }
            for s in m.source.split(", ").filter(|s| *s != "-") {
                if !sources.contains(&s) {
                    sources.push(s);
                }
            }
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            info.name,
            if info.default_enabled { "yes" } else { "no" },
            permissions.join(", "),
            sources
                .iter()
                .map(|s| format!("`{}`", s.replace('|', "\\|")))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

#[test]
fn permission_table_matches_the_code() {
    check_generated(
        "docs/authentication.md",
        "<!-- BEGIN GENERATED PERMISSIONS TABLE: edit the MetricSpecs in src/, then run `UPDATE_DOCS=1 cargo test --test docs` -->",
        "<!-- END GENERATED PERMISSIONS TABLE -->",
        &generated_permissions(),
    );
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
