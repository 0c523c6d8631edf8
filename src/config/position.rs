//! Where a config key is written in the file, for errors found after parsing.
//!
//! serde reports a line and column only while it parses. Errors found later, when the file is
//! merged with the environment and checked (a missing tenant id, a secret given both inline and
//! as a file), name a key path such as `tenants[0].auth.client_secret`; this module finds that
//! path in the YAML, or the closest enclosing key when the key itself is missing.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A position in the config file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Line number.
    pub line: usize,
    /// Column number.
    pub column: usize,
}

/// Positions of every key path in `text`, or `None` if it is not YAML (serde has already
/// reported that by the time anyone asks).
pub struct KeyPositions(HashMap<String, Position>);

impl KeyPositions {
    /// Indexes every mapping key and sequence item of the first document in `text`.
    pub fn of(text: &str) -> Option<Self> {
        let mut walker = Walker::default();
        Parser::new_from_str(text).load(&mut walker, false).ok()?;
        Some(KeyPositions(walker.found))
    }

    /// The key paths written at `at`: a sequence item and its first key share a place.
    pub fn keys_at(&self, at: Position) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(_, p)| **p == at)
            .map(|(k, _)| k.as_str())
    }

    /// Where `key` is written; if it is not, where its closest enclosing key is, together with
    /// that key's path.
    pub fn locate<'k>(&self, key: &'k str) -> Option<(&'k str, Position)> {
        let mut path = key;
        loop {
            if let Some(p) = self.0.get(path) {
                return Some((path, *p));
            }
            // `a.b[2].c` → `a.b[2]` → `a.b` → `a`.
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// A mapping or sequence being read, with its own key path.
enum Frame {
    Mapping {
        path: String,
        /// The key just read, waiting for its value; `None` when a key comes next.
        key: Option<(String, Marker)>,
    },
    Sequence {
        path: String,
        next_index: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    found: HashMap<String, Position>,
    /// A sequence item that is a mapping or sequence, waiting for the position of its first
    /// node: the parser marks a block mapping's start after its first key, not at it.
    unplaced: Option<String>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Walker {
    /// A node started at `mark`: a scalar (`text`) or the start of a collection (`opens`).
    fn node(&mut self, text: Option<String>, mark: Marker, opens: Option<fn(String) -> Frame>) {
        if let Some(item) = self.unplaced.take() {
            self.found.insert(item, position(mark));
        }
        let path = match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Mapping { path, key }) => match key.take() {
                None => {
                    // A key. Only scalar keys can be named in a key path.
                    *key = Some((text.unwrap_or_default(), mark));
                    if opens.is_some() {
                        // A complex key: its contents have no path; skip them under a dummy.
                        self.stack.push(Frame::Sequence {
                            path: String::from("\0"),
                            next_index: 0,
                        });
                    }
                    return;
                }
                Some((name, key_mark)) => {
                    let child = join(path, &name);
                    self.found.insert(child.clone(), position(key_mark));
                    Some(child)
                }
            },
            Some(Frame::Sequence { path, next_index }) => {
                let child = format!("{path}[{next_index}]");
                *next_index += 1;
                if opens.is_some() {
                    self.unplaced = Some(child.clone());
                } else {
                    self.found.insert(child.clone(), position(mark));
                }
                Some(child)
            }
        };
        if let (Some(open), Some(path)) = (opens, path) {
            self.stack.push(open(path));
        }
    }
}

fn position(mark: Marker) -> Position {
    Position {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => self.node(Some(text), mark, None),
            Event::Alias(_) => self.node(None, mark, None),
            Event::MappingStart(..) => {
                self.node(None, mark, Some(|path| Frame::Mapping { path, key: None }))
            }
            Event::SequenceStart(..) => self.node(
                None,
                mark,
                Some(|path| Frame::Sequence {
                    path,
                    next_index: 0,
                }),
            ),
            Event::MappingEnd | Event::SequenceEnd => {
                // An empty item (`- {}`) is placed at its end.
                if let Some(item) = self.unplaced.take() {
                    self.found.insert(item, position(mark));
                }
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
graph:
  timeout: 30s
tenants:
  - tenant_id: a.com
    auth:
      client_secret: s
  - name: b
    collectors: {credentials: {interval: 5m}}
";

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn finds_keys_and_items_in_block_and_flow_style() {
        let p = KeyPositions::of(YAML).unwrap();
        assert_eq!(p.locate("graph.timeout"), Some(("graph.timeout", at(2, 3))));
        assert_eq!(p.locate("tenants[0]"), Some(("tenants[0]", at(4, 5))));
        assert_eq!(
            p.locate("tenants[0].auth.client_secret"),
            Some(("tenants[0].auth.client_secret", at(6, 7)))
        );
        assert_eq!(
            p.locate("tenants[1].collectors.credentials.interval"),
            Some(("tenants[1].collectors.credentials.interval", at(8, 32)))
        );
    }

    #[test]
    fn a_missing_key_falls_back_to_its_closest_enclosing_key() {
        let p = KeyPositions::of(YAML).unwrap();
        assert_eq!(
            p.locate("tenants[1].tenant_id"),
            Some(("tenants[1]", at(7, 5)))
        );
        assert_eq!(p.locate("web.listen_address"), None);
    }

    #[test]
    fn names_the_key_at_a_position() {
        let p = KeyPositions::of(YAML).unwrap();
        let keys = |line, column| {
            let mut keys: Vec<_> = p.keys_at(at(line, column)).collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(6, 7), ["tenants[0].auth.client_secret"]);
        assert_eq!(keys(4, 5), ["tenants[0]", "tenants[0].tenant_id"]);
        assert!(keys(6, 8).is_empty());
    }

    #[test]
    fn not_yaml_has_no_positions() {
        assert!(KeyPositions::of("a: [").is_none());
    }
}
