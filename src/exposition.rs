//! Metric families as collectors produce them, and the Prometheus text format `/metrics` serves.
//!
//! Collectors do not touch the `prometheus` crate's registry: they return plain [`Family`]
//! values that a snapshot holds until the next poll replaces it whole. Every family is
//! described by a static [`MetricSpec`], which is also what `docs/metrics.md` is checked
//! against, so a metric cannot be emitted without being documented.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress};

/// Prometheus metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// A value that can go up and down.
    Gauge,
    /// A monotonically increasing count; its name ends in `_total`.
    Counter,
}

impl MetricKind {
    /// The word used on the `# TYPE` line and in `docs/metrics.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
        }
    }
}

/// Static description of one metric family: the single source for HELP text and docs.
#[derive(Debug)]
pub struct MetricSpec {
    /// Full metric name, `entra_<subsystem>_<name>_<unit>`.
    pub name: &'static str,
    /// Gauge or counter.
    pub kind: MetricKind,
    /// HELP text; names the Graph report the value comes from.
    pub help: &'static str,
    /// Label names, in the order samples supply their values.
    pub labels: &'static [&'static str],
    /// Graph endpoint the value is read from, or `-` for the exporter's own metrics.
    pub source: &'static str,
    /// Least-privileged application permission the source needs, or `-`.
    pub permission: &'static str,
}

/// A sample's value, either fixed at poll time or derived from the clock at scrape time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// Rendered as is.
    Fixed(f64),
    /// A Unix timestamp rendered as the seconds from scrape time until it, so that a
    /// "time until expiry" series is never as stale as the last poll.
    SecondsUntil(f64),
}

impl Value {
    /// The value as served at `now` (Unix seconds).
    pub fn at(self, now: f64) -> f64 {
        match self {
            Value::Fixed(v) => v,
            Value::SecondsUntil(ts) => ts - now,
        }
    }
}

/// A sample's label values, in `spec.labels` order, packed into one allocation: each value is
/// its length (LEB128) and then its bytes.
///
/// A snapshot can hold hundreds of thousands of series (one per credential, twice). As a
/// `Vec<String>`, seven label values cost eight allocations and about 470 bytes a series, and
/// as many frees when the snapshot is replaced; packed, one allocation of the values' own size
/// (docs/benchmarks.md, "Memory"). Reference-counted, so series with the same labels in two
/// families (a credential's expiry and its time until expiry) share that one allocation.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels(Arc<[u8]>);

impl Labels {
    /// Packs `values`.
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        thread_local! {
            // Encoding into a reused buffer, then copying once, allocates exactly the size.
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCRATCH.with(|scratch| {
            let mut buf = scratch.borrow_mut();
            buf.clear();
            for value in values {
                let bytes = value.as_ref().as_bytes();
                let mut n = bytes.len();
                loop {
                    let low = (n & 0x7f) as u8;
                    n >>= 7;
                    if n == 0 {
                        buf.push(low);
                        break;
                    }
                    buf.push(low | 0x80);
                }
                buf.extend_from_slice(bytes);
            }
            Labels(Arc::from(&buf[..]))
        })
    }

    /// The values, in order.
    pub fn iter(&self) -> LabelValues<'_> {
        LabelValues { rest: &self.0 }
    }

    /// The `i`-th value.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.iter().nth(i)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over [`Labels`]' values.
pub struct LabelValues<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for LabelValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.rest.split_first()?;
            self.rest = rest;
            len |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let (value, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        // Written from `&str`s by `Labels::new`, so always UTF-8.
        std::str::from_utf8(value).ok()
    }
}

/// One metric family with its samples, as a snapshot stores it.
#[derive(Clone, Debug)]
pub struct Family {
    /// What this family is; also fixes the label names.
    pub spec: &'static MetricSpec,
    /// Label values (in `spec.labels` order) and value of each sample.
    pub samples: Vec<(Labels, Value)>,
}

/// Equal when they name the same metric and hold the same samples in the same order.
impl PartialEq for Family {
    fn eq(&self, other: &Self) -> bool {
        self.spec.name == other.spec.name && self.samples == other.samples
    }
}

impl Family {
    /// An empty family for `spec`.
    pub fn new(spec: &'static MetricSpec) -> Self {
        Family {
            spec,
            samples: Vec::new(),
        }
    }

    /// Adds a sample whose label values are given in `spec.labels` order.
    pub fn push<S: AsRef<str>>(&mut self, labels: impl IntoIterator<Item = S>, value: Value) {
        self.push_labels(Labels::new(labels), value);
    }

    /// Adds a sample with label values already packed, which may be shared with a sample of
    /// another family.
    pub fn push_labels(&mut self, labels: Labels, value: Value) {
        debug_assert_eq!(
            labels.len(),
            self.spec.labels.len(),
            "label values for {} do not match its spec",
            self.spec.name
        );
        self.samples.push((labels, value));
    }

    /// Adds a sample with a fixed value.
    pub fn gauge<S: AsRef<str>>(&mut self, labels: impl IntoIterator<Item = S>, value: f64) {
        self.push(labels, Value::Fixed(value));
    }
}

/// Renders families in the Prometheus text format (version 0.0.4).
///
/// Families with the same name (one per tenant, say) are merged under one HELP/TYPE
/// header, as the format requires; output is sorted by name so it is stable.
pub fn render<'a>(families: impl IntoIterator<Item = &'a Family>, now: f64, out: &mut String) {
    let mut by_name: BTreeMap<&'static str, Vec<&'a Family>> = BTreeMap::new();
    for family in families {
        by_name.entry(family.spec.name).or_default().push(family);
    }
    for group in by_name.values() {
        render_group(group, now, out);
    }
}

/// Renders families that share one name: one HELP/TYPE header, then every sample.
fn render_group(group: &[&Family], now: f64, out: &mut String) {
    let Some(first) = group.first() else {
        return;
    };
    let spec = first.spec;
    let name = spec.name;
    let _ = writeln!(out, "# HELP {name} {}", escape_help(spec.help));
    let _ = writeln!(out, "# TYPE {name} {}", spec.kind.as_str());
    for family in group {
        for (values, value) in &family.samples {
            out.push_str(name);
            if !values.is_empty() {
                out.push('{');
                for (i, (label, v)) in spec.labels.iter().zip(values.iter()).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(label);
                    out.push_str("=\"");
                    escape_label_value_into(v, out);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            write_value(value.at(now), out);
            out.push('\n');
        }
    }
}

/// One rendering of `/metrics`, in both encodings, ready to be cloned into responses.
#[derive(Clone, Debug)]
pub struct Body {
    /// The text format.
    pub identity: Bytes,
    /// The same text as one gzip member; `None` when the render was asked for none (no
    /// client wanted gzip lately) or compression failed, in which case every client gets
    /// `identity`.
    pub gzip: Option<Bytes>,
    /// Unix time the [`Value::SecondsUntil`] samples were rendered at.
    pub now: f64,
}

/// A family name's rendered text and its deflate stream, kept between renders so that only
/// the names whose snapshots changed (or whose values follow the clock) are rendered and
/// compressed again. Rendering and compressing 100,000 series takes a few hundred
/// milliseconds; copying the cached bytes takes a few.
struct Cached {
    /// The snapshots the text was rendered from, compared by pointer: a poll swaps in a new
    /// `Arc`, so the same pointers mean the same samples. Holding them keeps a pointer from
    /// being reused by a later snapshot.
    sources: Vec<Arc<Vec<Family>>>,
    /// True when a sample is a [`Value::SecondsUntil`], so the text changes with the clock.
    follows_clock: bool,
    /// The text, a slice of the last body.
    text: Bytes,
    /// `text` as raw deflate blocks ending in a sync flush (byte-aligned, not final), a slice
    /// of the last gzip body; `None` when that render made no gzip body.
    deflate: Option<Bytes>,
}

/// Renders [`Body`]s, reusing the text and compression of every family name whose
/// snapshots did not change since the previous render.
///
/// The gzip body is stitched from per-name deflate streams, as pigz does: each is compressed
/// on its own and ends in a sync flush, so they concatenate into one valid deflate stream
/// (RFC 1951 §3.2.3: blocks need not end on a byte boundary, but a sync flush makes them),
/// closed by an empty final block and the gzip trailer (RFC 1952 §2.3).
pub struct BodyCache {
    /// Per family name, what the previous render produced.
    cached: HashMap<&'static str, Cached>,
    /// Reused between names: a compressor allocates a few hundred KiB of tables.
    compress: Compress,
}

/// Speed over ratio: the names that follow the clock are compressed again every second
/// while the exporter is scraped. Level 1 still shrinks the text format about five-fold.
const GZIP_LEVEL: Compression = Compression::fast();

/// A gzip member header: deflate, no name or comment, no modification time, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// An empty final deflate block with fixed Huffman codes: what a compressor emits when it is
/// finished with no input left.
const DEFLATE_END: [u8; 2] = [0x03, 0x00];

impl Default for BodyCache {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyCache {
    /// An empty cache; its first render renders everything.
    pub fn new() -> Self {
        BodyCache {
            cached: HashMap::new(),
            compress: Compress::new(GZIP_LEVEL, false),
        }
    }

    /// Renders `snapshots` (collector families, reused by name while their `Arc`s are the
    /// same), then `fresh` (families built for this render, such as collector health), then
    /// `tail` (text appended as is, such as the self-metrics registry), at Unix time `now`;
    /// with a gzip copy when `gzip` is true.
    ///
    /// The text is the same as [`render`] of all the families followed by `tail`.
    pub fn render(
        &mut self,
        snapshots: &[Arc<Vec<Family>>],
        fresh: &[Family],
        tail: &str,
        now: f64,
        gzip: bool,
    ) -> Body {
        let want_gzip = gzip;
        #[derive(Default)]
        struct Group<'a> {
            families: Vec<&'a Family>,
            sources: Vec<&'a Arc<Vec<Family>>>,
            fresh: bool,
        }
        let mut groups: BTreeMap<&'static str, Group> = BTreeMap::new();
        for snapshot in snapshots {
            for family in snapshot.iter() {
                let g = groups.entry(family.spec.name).or_default();
                g.families.push(family);
                if !g.sources.last().is_some_and(|s| Arc::ptr_eq(s, snapshot)) {
                    g.sources.push(snapshot);
                }
            }
        }
        for family in fresh {
            let g = groups.entry(family.spec.name).or_default();
            g.families.push(family);
            g.fresh = true;
        }

        let previous = std::mem::take(&mut self.cached);
        let capacity = |f: fn(&Cached) -> usize| previous.values().map(f).sum::<usize>();
        // A `String`, so each name renders straight into the body (no scratch copy, which at
        // 650,000 series was a 75 MB transient), and `Bytes` takes it over without a copy.
        let mut text = String::with_capacity(capacity(|c| c.text.len()) + tail.len() + 4096);
        let mut gzip = Vec::new();
        if want_gzip {
            gzip.reserve(
                capacity(|c| c.deflate.as_ref().map_or(c.text.len() / 4, Bytes::len)) + 4096,
            );
            gzip.extend_from_slice(&GZIP_HEADER);
        }
        let mut compressed = want_gzip;
        // Where each name's text and deflate stream landed, to slice them out once frozen.
        let mut placed = Vec::with_capacity(groups.len());
        for (name, g) in &groups {
            let reusable = previous
                .get(name)
                .filter(|c| {
                    !g.fresh
                        && !c.follows_clock
                        && c.sources.len() == g.sources.len()
                        && c.sources
                            .iter()
                            .zip(&g.sources)
                            .all(|(a, b)| Arc::ptr_eq(a, b))
                })
                // Only for text that is reused. It is a slice of a body built from a `String`,
                // so the check always passes; it runs at memory speed and keeps this free of
                // `unsafe`.
                .and_then(|c| Some((c, std::str::from_utf8(&c.text).ok()?)));
            let (text_start, gzip_start) = (text.len(), gzip.len());
            let follows_clock = match reusable {
                Some((c, cached)) => {
                    text.push_str(cached);
                    match &c.deflate {
                        Some(deflate) if want_gzip => gzip.extend_from_slice(deflate),
                        // The last render made no gzip body: compress the cached text.
                        _ if want_gzip => {
                            compressed &= deflate_sync(&mut self.compress, &c.text, &mut gzip)
                        }
                        _ => {}
                    }
                    false
                }
                None => {
                    render_group(&g.families, now, &mut text);
                    if want_gzip {
                        let rendered = &text.as_bytes()[text_start..];
                        compressed &= deflate_sync(&mut self.compress, rendered, &mut gzip);
                    }
                    g.families.iter().any(|f| {
                        f.samples
                            .iter()
                            .any(|(_, v)| matches!(v, Value::SecondsUntil(_)))
                    })
                }
            };
            placed.push((
                *name,
                g.sources.iter().map(|s| Arc::clone(s)).collect::<Vec<_>>(),
                follows_clock || g.fresh,
                text_start..text.len(),
                gzip_start..gzip.len(),
            ));
        }
        text.push_str(tail);
        if want_gzip {
            compressed &= deflate_sync(&mut self.compress, tail.as_bytes(), &mut gzip);
            gzip.extend_from_slice(&DEFLATE_END);
            let mut crc = Crc::new();
            crc.update(text.as_bytes());
            gzip.extend_from_slice(&crc.sum().to_le_bytes());
            // ISIZE is the length modulo 2^32 (RFC 1952 §2.3.1).
            gzip.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }

        let text = Bytes::from(text.into_bytes());
        let gzip = Bytes::from(gzip);
        self.cached = placed
            .into_iter()
            .map(|(name, sources, follows_clock, t, z)| {
                (
                    name,
                    Cached {
                        sources,
                        follows_clock,
                        text: text.slice(t),
                        deflate: compressed.then(|| gzip.slice(z)),
                    },
                )
            })
            .collect();
        if want_gzip && !compressed {
            // A compressor error leaves it in an unknown state: start a new one.
            self.compress = Compress::new(GZIP_LEVEL, false);
        }
        Body {
            identity: text,
            gzip: compressed.then_some(gzip),
            now,
        }
    }
}

/// Appends `input` to `out` as raw deflate blocks ending in a sync flush, from a fresh
/// compressor state so the blocks refer to nothing before them. False if the compressor failed.
fn deflate_sync(compress: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> bool {
    if input.is_empty() {
        return true;
    }
    compress.reset();
    let mut consumed = 0;
    loop {
        // Text compresses at least two-fold; the margin covers block headers and the flush.
        out.reserve((input.len() - consumed) / 2 + 64);
        let before = compress.total_in();
        if compress
            .compress_vec(&input[consumed..], out, FlushCompress::Sync)
            .is_err()
        {
            return false;
        }
        consumed += (compress.total_in() - before) as usize;
        // Done once all input is in and the flush fitted with room to spare (zlib's rule:
        // a flush is complete when it returns with output space left).
        if consumed == input.len() && out.len() < out.capacity() {
            return true;
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_value_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

/// A label value escaped for the text formats (backslash, double quote, newline).
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_label_value_into(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_labels_give_back_every_value() {
        let long = "x".repeat(300); // a length that takes two LEB128 bytes
        let values = ["", "tenant", long.as_str(), "Zürich \"quoted\"\n", ""];
        let labels = Labels::new(values);
        assert_eq!(labels.iter().collect::<Vec<_>>(), values);
        assert_eq!(labels.len(), 5);
        assert_eq!(labels.get(2), Some(long.as_str()));
        assert_eq!(labels.get(5), None);
        assert!(Labels::new::<&str>([]).is_empty());
        assert_eq!(format!("{:?}", Labels::new(["a", "b"])), r#"["a", "b"]"#);
    }

    static SPEC: MetricSpec = MetricSpec {
        name: "entra_test_value",
        kind: MetricKind::Gauge,
        help: "A test value.\nSecond line with a \\ backslash.",
        labels: &["tenant", "app_name"],
        source: "-",
        permission: "-",
    };

    #[test]
    fn merges_families_of_the_same_name_under_one_header() {
        let mut a = Family::new(&SPEC);
        a.gauge(["t1", "App \"One\"\nx\\y"], 1.5);
        let mut b = Family::new(&SPEC);
        b.push(["t2", "App"], Value::SecondsUntil(3.0));
        let mut out = String::new();
        render([&a, &b], 0.0, &mut out);
        assert_eq!(
            out,
            "# HELP entra_test_value A test value.\\nSecond line with a \\\\ backslash.\n\
             # TYPE entra_test_value gauge\n\
             entra_test_value{tenant=\"t1\",app_name=\"App \\\"One\\\"\\nx\\\\y\"} 1.5\n\
             entra_test_value{tenant=\"t2\",app_name=\"App\"} 3\n"
        );
    }

    static OTHER: MetricSpec = MetricSpec {
        name: "entra_test_other",
        kind: MetricKind::Counter,
        help: "Another test value.",
        labels: &["tenant"],
        source: "-",
        permission: "-",
    };

    fn snapshot(tenant: &str, n: usize, value: f64) -> Arc<Vec<Family>> {
        let mut a = Family::new(&SPEC);
        let mut b = Family::new(&OTHER);
        for i in 0..n {
            a.push(
                [tenant.to_string(), format!("app {i}")],
                Value::SecondsUntil(1e6 + i as f64),
            );
            a.gauge([tenant.to_string(), format!("fixed {i}")], value);
        }
        b.gauge([tenant], value);
        Arc::new(vec![b, a])
    }

    fn gunzip(bytes: &[u8]) -> String {
        use std::io::Read as _;
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn cached_bodies_match_a_full_render_in_both_encodings() {
        let mut cache = BodyCache::new();
        let mut health = Family::new(&OTHER);
        health.gauge(["health"], 1.0);
        let fresh = [health];
        let tail = "# HELP entra_tail A tail.\n# TYPE entra_tail gauge\nentra_tail 1\n";
        let mut t1 = snapshot("t1", 2_000, 1.0);
        let t2 = snapshot("t2", 3, 2.0);
        let empty = Arc::new(Vec::new());
        for (round, now) in [0.0, 1.0, 1.5, 2.0, 10.0].into_iter().enumerate() {
            if round == 2 {
                // A poll swaps one tenant's snapshot; the other stays cached.
                t1 = snapshot("t1", 1_000, 3.0);
            }
            let snapshots = [t1.clone(), empty.clone(), t2.clone()];
            let body = cache.render(&snapshots, &fresh, tail, now, round != 3);
            let mut expected = String::new();
            render(
                snapshots.iter().flat_map(|s| s.iter()).chain(fresh.iter()),
                now,
                &mut expected,
            );
            expected.push_str(tail);
            assert_eq!(body.identity, expected.as_bytes(), "round {round}");
            // Round 3 makes no gzip body; round 4 compresses the text cached without one.
            match &body.gzip {
                None => assert_eq!(round, 3),
                Some(gzip) => assert_eq!(gunzip(gzip), expected, "round {round}"),
            }
            assert_eq!(body.now, now);
        }
        // Nothing at all still makes a valid gzip member.
        let body = BodyCache::new().render(&[], &[], "", 0.0, true);
        assert_eq!(body.identity.len(), 0);
        assert_eq!(gunzip(body.gzip.as_ref().unwrap()), "");
    }

    #[test]
    fn special_floats_use_prometheus_spelling() {
        let mut out = String::new();
        for v in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.25,
            1748941272.5,
        ] {
            write_value(v, &mut out);
            out.push(' ');
        }
        assert_eq!(out, "NaN +Inf -Inf -0.25 1748941272.5 ");
    }
}
