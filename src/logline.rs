//! The log lines, text and JSON, in the layouts of `tracing-subscriber`'s default and JSON
//! formats, written with far fewer instructions. The access line is written once per request:
//! the default formatter spent about 20 k instructions on it (16 % of a REST call) and the JSON
//! one about 37 k (callgrind, `benches/cpu_per_call.sh`). Records of the `log` crate show their
//! own target, as `tracing-subscriber` shows them. The text line escapes control characters in
//! values, so a line stays one line, and has no colours; an error field is followed by its
//! sources after `: ` in both formats (the default text writes a list, its JSON none). A span's
//! fields keep the order they were recorded in (tracing-subscriber's JSON sorts them by name).
//!
//! ```text
//! 2026-12-02T05:49:55.287829Z  INFO request{id="abc.1"}: access: request request_id="abc.1" status=200
//! {"timestamp":"2026-12-02T05:49:55.287829Z","level":"INFO","fields":{"message":"request","request_id":"abc.1","status":200},"target":"access","span":{"id":"abc.1","name":"request"},"spans":[{"id":"abc.1","name":"request"}]}
//! ```

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// Formats both the events and the span fields of the text format.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextLine;

impl<S> FormatEvent<S, TextLine> for TextLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, TextLine>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_now(&mut writer)?;
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        writer.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<TextLine>>() {
                    if !fields.is_empty() {
                        write!(writer, "{{{fields}}}")?;
                    }
                }
                writer.write_char(':')?;
            }
            writer.write_char(' ')?;
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        self.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

impl<'writer> FormatFields<'writer> for TextLine {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        Fields::record(writer, fields, false)
    }
}

impl<'writer> FormatFields<'writer> for JsonLine {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        Fields::record(writer, fields, true)
    }

    fn add_fields(
        &self,
        current: &mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        if !current.fields.is_empty() {
            current.fields.push(',');
        }
        self.format_fields(current.as_writer(), fields)
    }
}

/// Writes the fields of an event or span. Text: `name=value` pairs separated by one space, the
/// message bare, strings quoted as `{:?}` quotes them. JSON: `"name":value` pairs separated by
/// commas, numbers and booleans as such, a float that is not finite as `null`, everything else
/// as a string.
struct Fields<'a> {
    writer: Writer<'a>,
    result: fmt::Result,
    first: bool,
    json: bool,
}

impl Fields<'_> {
    fn record<R: RecordFields>(writer: Writer<'_>, fields: R, json: bool) -> fmt::Result {
        let mut visitor = Fields {
            writer,
            result: Ok(()),
            first: true,
            json,
        };
        fields.record(&mut visitor);
        visitor.result
    }

    fn write(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        // The fields of a `log` crate record that tracing-log turns into metadata.
        if self.result.is_ok() && !field.name().starts_with("log.") {
            self.result = self.pair(field.name(), value);
        }
    }

    fn pair(
        &mut self,
        name: &str,
        value: impl FnOnce(&mut Writer<'_>) -> fmt::Result,
    ) -> fmt::Result {
        let name = name.strip_prefix("r#").unwrap_or(name);
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(if self.json { ',' } else { ' ' })?;
        }
        if self.json {
            json_string(&mut self.writer, name)?;
            self.writer.write_char(':')?;
        } else if name != "message" {
            self.writer.write_str(name)?;
            self.writer.write_char('=')?;
        }
        value(&mut self.writer)
    }

    /// A value written through `Display`: a JSON string, or escaped text.
    fn display(&mut self, field: &Field, value: impl fmt::Display) {
        let json = self.json;
        self.write(field, |writer| {
            if json {
                writer.write_char('"')?;
                write!(JsonEscaped(writer), "{value}")?;
                writer.write_char('"')
            } else {
                write!(Escaped(writer), "{value}")
            }
        })
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.json {
            return self.write(field, |writer| json_string(writer, value));
        }
        if field.name() == "message" {
            return self.display(field, value);
        }
        self.write(field, |writer| {
            // `{:?}` on a string, without going character by character when nothing needs escaping.
            if value
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
            {
                writer.write_char('"')?;
                writer.write_str(value)?;
                writer.write_char('"')
            } else {
                write!(Escaped(writer), "{value:?}")
            }
        })
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.write(field, |writer| {
            writer.write_str(itoa::Buffer::new().format(value))
        })
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.write(field, |writer| {
            writer.write_str(itoa::Buffer::new().format(value))
        })
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if !self.json {
            return self.record_debug(field, &value);
        }
        self.write(field, |writer| {
            // serde_json's own digits (`1e+21`, `null` for NaN), into a buffer on the stack.
            let mut digits = [0u8; 32];
            let mut rest = &mut digits[..];
            serde_json::to_writer(&mut rest, &value).map_err(|_| fmt::Error)?;
            let written = 32 - rest.len();
            writer.write_str(std::str::from_utf8(&digits[..written]).map_err(|_| fmt::Error)?)
        })
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.write(field, |writer| {
            writer.write_str(if value { "true" } else { "false" })
        })
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.display(field, WithSources(value))
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.display(field, format_args!("{value:?}"))
    }
}

/// Formats both the events and the span fields of the JSON format: one object per line, with
/// `timestamp`, `level`, `fields`, `target`, and inside a span `span` (the innermost) and `spans`
/// (from the outermost), as `tracing-subscriber`'s `json().with_current_span(true)` writes them.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLine;

impl<S> FormatEvent<S, JsonLine> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonLine>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta: &Metadata<'_> = normalized.as_ref().unwrap_or_else(|| event.metadata());
        writer.write_str("{\"timestamp\":\"")?;
        write_now(&mut writer)?;
        writer.write_str("\",\"level\":\"")?;
        writer.write_str(meta.level().as_str())?;
        writer.write_str("\",\"fields\":{")?;
        self.format_fields(writer.by_ref(), event)?;
        writer.write_str("},\"target\":")?;
        json_string(&mut writer, meta.target())?;
        let current = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(current) = current {
            let span = |writer: &mut Writer<'_>, span: &SpanRef<'_, S>| -> fmt::Result {
                writer.write_char('{')?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<JsonLine>>() {
                    if !fields.is_empty() {
                        writer.write_str(fields)?;
                        writer.write_char(',')?;
                    }
                }
                writer.write_str("\"name\":")?;
                json_string(writer, span.name())?;
                writer.write_char('}')
            };
            writer.write_str(",\"span\":")?;
            span(&mut writer, &current)?;
            writer.write_str(",\"spans\":[")?;
            for (at, outer) in current.scope().from_root().enumerate() {
                if at > 0 {
                    writer.write_char(',')?;
                }
                span(&mut writer, &outer)?;
            }
            writer.write_char(']')?;
        }
        writer.write_str("}\n")
    }
}

/// A JSON string, escaped as serde_json escapes it.
fn json_string(writer: &mut Writer<'_>, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    JsonEscaped(writer).write_str(text)?;
    writer.write_char('"')
}

/// Passes text through with `"`, `\` and the control characters below U+0020 escaped, as in
/// a JSON string (serde_json's escapes: `\n`, `\t`, ..., else `\u00xx`).
struct JsonEscaped<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for JsonEscaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest
            .bytes()
            .position(|b| b < 0x20 || b == b'"' || b == b'\\')
        {
            self.0.write_str(&rest[..at])?;
            match rest.as_bytes()[at] {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                0x08 => self.0.write_str("\\b")?,
                0x0c => self.0.write_str("\\f")?,
                control => write!(self.0, "\\u{control:04x}")?,
            }
            rest = &rest[at + 1..];
        }
        self.0.write_str(rest)
    }
}

/// An error, then each of its sources after `: `.
struct WithSources<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for WithSources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

/// The current time as RFC 3339, in UTC with microseconds.
fn write_now(writer: &mut Writer<'_>) -> fmt::Result {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let stamp = timestamp(now.as_secs(), now.subsec_micros());
    writer.write_str(std::str::from_utf8(&stamp).expect("ASCII digits and separators"))
}

/// Passes text through, with each control character (a newline, an ANSI escape) written as
/// `\u{..}`: whatever a value holds, the line stays one line and cannot drive a terminal.
struct Escaped<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(|c: char| c.is_control()) {
            self.0.write_str(&rest[..at])?;
            let control = rest[at..].chars().next().expect("found at this index");
            write!(self.0, "\\u{{{:x}}}", control as u32)?;
            rest = &rest[at + control.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// RFC 3339 in UTC with microseconds, as `2026-12-02T05:49:55.287829Z`.
fn timestamp(unix_secs: u64, micros: u32) -> [u8; 27] {
    let (days, secs_of_day) = (unix_secs / 86_400, unix_secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let fields = [
        (0, 4, year),
        (5, 2, month),
        (8, 2, day),
        (11, 2, secs_of_day / 3600),
        (14, 2, secs_of_day / 60 % 60),
        (17, 2, secs_of_day % 60),
        (20, 6, u64::from(micros)),
    ];
    for (start, width, mut value) in fields {
        for at in (start..start + width).rev() {
            out[at] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    out
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch). Also the demo ERP's timestamps.
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        /// The lines written, each without its timestamp (checked for shape here).
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|line| {
                    let (stamp, rest) = line.split_at(27);
                    let stamp = stamp.as_bytes();
                    assert!(stamp.iter().enumerate().all(|(at, &b)| match at {
                        4 | 7 => b == b'-',
                        10 => b == b'T',
                        13 | 16 => b == b':',
                        19 => b == b'.',
                        26 => b == b'Z',
                        _ => b.is_ascii_digit(),
                    }));
                    rest.to_owned()
                })
                .collect()
        }
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot reach the ERP")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// The events of the proxy's own log lines: spans, every kind of field, several levels.
    fn emit() {
        let request = tracing::info_span!("request", id = "abc.1");
        let _entered = request.enter();
        let client: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        tracing::info!(
            target: "access",
            request_id = "abc.1",
            client = %client,
            method = %http::Method::POST,
            path = %"/api/auth/get_tokens",
            status = 200u16,
            bytes = 188u64,
            total_ms = 8.058,
            upstream_ms = 0.0,
            db = "demo",
            uid = Some(2i64),
            missing = None::<i64>,
            "request"
        );
        // Fields in name order: tracing-subscriber's JSON sorts a span's fields by name, ours
        // keeps them in the order they were recorded.
        let inner = tracing::debug_span!("login", attempt = 2, db = "demo");
        let _inner = inner.enter();
        tracing::warn!(r#type = "pool", grace = ?std::time::Duration::from_millis(1500), ok = false, delta = -3, "grace period over; closing");
        tracing::error!(path = "a \"quoted\" \\ path ü");
        drop(_inner);
        drop(_entered);
        tracing::info!(upstream = %"http://127.0.0.1:8069/", threads = 2, "serving");
    }

    /// What `body` logs through the subscriber that `subscriber` builds on a capture.
    fn written(subscriber: fn(Captured) -> tracing::Dispatch, body: impl FnOnce()) -> Captured {
        let captured = Captured::default();
        tracing::dispatcher::with_default(&subscriber(captured.clone()), body);
        captured
    }

    /// Every level, written to `out`.
    fn to(
        out: Captured,
    ) -> tracing_subscriber::fmt::SubscriberBuilder<
        tracing_subscriber::fmt::format::DefaultFields,
        tracing_subscriber::fmt::format::Format,
        tracing::level_filters::LevelFilter,
        impl for<'w> tracing_subscriber::fmt::MakeWriter<'w>,
    > {
        tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_writer(move || out.clone())
    }

    fn ours_text(out: Captured) -> tracing::Dispatch {
        to(out).fmt_fields(TextLine).event_format(TextLine).into()
    }

    fn ours_json(out: Captured) -> tracing::Dispatch {
        to(out).fmt_fields(JsonLine).event_format(JsonLine).into()
    }

    #[test]
    fn lines_are_those_of_the_default_format_without_colours() {
        let ours = written(ours_text, emit).lines();
        let default = written(|out| to(out).with_ansi(false).into(), emit).lines();
        assert_eq!(ours, default);
        assert_eq!(ours.len(), 4);
        assert_eq!(
            ours[0],
            r#"  INFO request{id="abc.1"}: access: request request_id="abc.1" client=127.0.0.1 method=POST path=/api/auth/get_tokens status=200 bytes=188 total_ms=8.058 upstream_ms=0.0 db="demo" uid=2"#
        );
        assert_eq!(
            ours[2],
            r#" ERROR request{id="abc.1"}:login{attempt=2 db="demo"}: odoo_rest_proxy::logline::tests: path="a \"quoted\" \\ path ü""#
        );
    }

    /// A line without its timestamp's value (its shape is checked).
    fn untimed(line: &str) -> String {
        let (head, rest) = line
            .split_once("{\"timestamp\":\"")
            .expect("a timestamp first");
        assert!(head.is_empty(), "{line}");
        let (stamp, rest) = rest.split_at(27);
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{line}"
        );
        rest.to_owned()
    }

    fn json_lines(subscriber: fn(Captured) -> tracing::Dispatch) -> Vec<String> {
        let captured = written(subscriber, || {
            emit();
            let span = tracing::info_span!("request", id = "j\"1\n");
            let _entered = span.enter();
            tracing::info!(
                text = "tab\tquote\" back\\ bell\u{7} é",
                nan = f64::NAN,
                big = 1e21,
                tiny = 1.5e-7,
                "odd values"
            );
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines().map(untimed).collect()
    }

    #[test]
    fn json_lines_are_those_of_the_json_format() {
        let ours = json_lines(ours_json);
        let theirs = json_lines(|out| to(out).json().with_current_span(true).into());
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), 5);
        assert_eq!(
            ours[0],
            r#"","level":"INFO","fields":{"message":"request","request_id":"abc.1","client":"127.0.0.1","method":"POST","path":"/api/auth/get_tokens","status":200,"bytes":188,"total_ms":8.058,"upstream_ms":0.0,"db":"demo","uid":2},"target":"access","span":{"id":"abc.1","name":"request"},"spans":[{"id":"abc.1","name":"request"}]}"#
        );
        for line in &ours {
            let line: serde_json::Value =
                serde_json::from_str(&format!("{{\"t\":\"{line}")).unwrap();
            assert!(line["fields"].is_object(), "{line}");
        }
    }

    #[test]
    fn records_of_the_log_crate_show_their_own_target_and_no_log_fields() {
        let captured = written(ours_text, || {
            let record = tracing_log::log::Record::builder()
                .args(format_args!("handshake done"))
                .level(tracing_log::log::Level::Warn)
                .target("rustls::client")
                .module_path_static(Some("rustls::client"))
                .file_static(Some("client.rs"))
                .line(Some(7))
                .build();
            tracing_log::format_trace(&record).unwrap();
        });
        assert_eq!(captured.lines(), ["  WARN rustls::client: handshake done"]);
    }

    #[test]
    fn control_characters_are_escaped_so_a_line_stays_one_line() {
        let captured = written(ours_text, || {
            let error = Outer(std::io::Error::other("refused\nFAKE  INFO access: forged"));
            tracing::warn!(error = &error as &(dyn std::error::Error + 'static), shown = %"a\r\nb", "one\nline \x1b[31mred");
        });
        assert_eq!(
            captured.lines(),
            [
                r#"  WARN odoo_rest_proxy::logline::tests: one\u{a}line \u{1b}[31mred error=cannot reach the ERP: refused\u{a}FAKE  INFO access: forged shown=a\u{d}\u{a}b"#
            ]
        );
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_with_microseconds() {
        for (secs, micros, expected) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, 1, "2000-02-29T00:00:00.000001Z"),
            (1_709_164_800, 999_999, "2024-02-29T00:00:00.999999Z"),
            (1_796_215_795, 287_829, "2026-12-02T12:49:55.287829Z"),
            (4_102_444_799, 500_000, "2099-12-31T23:59:59.500000Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59.000000Z"),
        ] {
            assert_eq!(
                std::str::from_utf8(&timestamp(secs, micros)).unwrap(),
                expected
            );
        }
    }
}
