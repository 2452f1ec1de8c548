//! How a log line's fields are written: `message name="text" count=3`, as
//! tracing-subscriber's default field formatter writes them without colours.
//!
//! The default formatter paints every field name and `=` through `nu_ansi_term`
//! even when colours are off, and takes every number through `&dyn Debug`; this
//! writes the same text directly, which costs less on every request (BENCHMARKS.md
//! lists what each hand-written piece buys). Like the default, it escapes the
//! terminal control characters an attacker could smuggle into a line (ESC, BEL, BS,
//! FF, DEL and the C1 controls);
//! unlike it, it does so in every value, not only the message, because
//! `%`-formatted values such as a path or a reason come from requests too. Text
//! values keep their Rust debug quoting (`path="/balance"`).

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;

/// The field formatter for [`super::line_format::LineFormat`] lines and their spans.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFields;

impl<'writer> MakeVisitor<Writer<'writer>> for LineFields {
    type Visitor = LineFieldsVisitor<'writer>;

    fn make_visitor(&self, writer: Writer<'writer>) -> Self::Visitor {
        LineFieldsVisitor {
            line: writer,
            first: true,
            result: Ok(()),
        }
    }
}

/// Writes one event's or span's fields, separated by single spaces.
pub struct LineFieldsVisitor<'writer> {
    line: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl LineFieldsVisitor<'_> {
    /// Writes the separator, `name=` (nothing for the message) and the value, with
    /// terminal control characters escaped; nothing after an error, or for a field
    /// to skip.
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Escaping<'_, '_>) -> fmt::Result) {
        self.field_unescaped(field, |line| value(&mut Escaping(line)));
    }

    /// [`Self::field`] for values that cannot hold a control character: numbers,
    /// and text already debug-quoted (which escapes every control character).
    fn field_unescaped(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        let name = field.name();
        // `log` records' metadata, already shown as the line's target.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        self.result = self.write_field(name, value);
    }

    fn write_field(&mut self, name: &str, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.line.write_char(' ')?;
        }
        if name != "message" {
            self.line.write_str(name.strip_prefix("r#").unwrap_or(name))?;
            self.line.write_char('=')?;
        }
        value(&mut self.line)
    }
}

impl Visit for LineFieldsVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.field(field, |out| out.write_str(value));
        } else {
            self.field_unescaped(field, |out| write!(out, "{value:?}"));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field_unescaped(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field_unescaped(field, |out| write!(out, "{value}"));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.field_unescaped(field, |out| write!(out, "{value}"));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.field_unescaped(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field_unescaped(field, |out| out.write_str(if value { "true" } else { "false" }));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, |out| {
            write!(out, "{value}")?;
            let mut source = value.source();
            while let Some(cause) = source {
                write!(out, ": {cause}")?;
                source = cause.source();
            }
            Ok(())
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |out| write!(out, "{value:?}"));
    }
}

impl VisitOutput<fmt::Result> for LineFieldsVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for LineFieldsVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.line
    }
}

/// Passes text through, writing the terminal control characters as escapes.
struct Escaping<'a, 'writer>(&'a mut Writer<'writer>);

impl Write for Escaping<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Nearly every value is plain: one pass over the bytes finds the few that
        // may start a control character (0xc2 leads U+0080 to U+00BF in UTF-8).
        if !text
            .bytes()
            .any(|byte| matches!(byte, 0x07 | 0x08 | 0x0c | 0x1b | 0x7f | 0xc2))
        {
            return self.0.write_str(text);
        }
        let mut clean_from = 0;
        for (at, character) in text.char_indices() {
            if is_terminal_control(character) {
                self.0.write_str(&text[clean_from..at])?;
                write!(self.0, "\\u{{{:x}}}", u32::from(character))?;
                clean_from = at + character.len_utf8();
            }
        }
        self.0.write_str(&text[clean_from..])
    }
}

/// Characters that make a terminal do something rather than show something,
/// except tab and line breaks (multi-line messages stay readable).
fn is_terminal_control(character: char) -> bool {
    matches!(
        character,
        '\x07' | '\x08' | '\x0c' | '\x1b' | '\x7f' | '\u{80}'..='\u{9f}'
    )
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use tracing_subscriber::fmt::format::DefaultFields;

    use crate::telemetry::line_format::tests::{lines_logged, lines_logged_with};

    /// Logs one line with a field of every kind the server logs.
    fn every_kind_of_field() {
        let method = "GET";
        tracing::info_span!("request", request_id = %"6f1c").in_scope(|| {
            tracing::info!(
                method = %method,
                path = "/balance",
                status = 200u16,
                micros = 406u128,
                change = -99i64,
                count = 3u64,
                first = true,
                r#type = "gift_card",
                error = ?Some("locked"),
                "request {}",
                7
            );
        });
    }

    #[test]
    fn fields_are_written_as_the_default_formatter_writes_them() {
        let ours = lines_logged(every_kind_of_field);
        let default = lines_logged_with(DefaultFields::new(), every_kind_of_field);
        assert_eq!(ours, default);
        assert_eq!(
            ours,
            [
                "  INFO request{request_id=6f1c}: storecredit::telemetry::line_fields::tests: \
              request 7 method=GET path=\"/balance\" status=200 micros=406 change=-99 count=3 \
              first=true type=\"gift_card\" error=Some(\"locked\")"
            ]
        );
    }

    #[test]
    fn terminal_control_characters_are_escaped_in_every_value() {
        let reason = "paid\x1b[2Jin full";
        let lines = lines_logged(|| {
            tracing::warn!(reason = %reason, code = "A\u{9b}B", "bell\x07 and tab\tkept");
        });
        assert_eq!(
            lines,
            ["  WARN storecredit::telemetry::line_fields::tests: \
              bell\\u{7} and tab\tkept reason=paid\\u{1b}[2Jin full code=\"A\\u{9b}B\""]
        );
        assert!(
            !lines[0]
                .chars()
                .any(|c| c == '\x1b' || c == '\x07' || c == '\u{9b}')
        );
    }

    #[derive(Debug)]
    struct Failure(&'static str, Option<Box<Failure>>);

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Failure {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|cause| cause as _)
        }
    }

    #[test]
    fn an_error_field_is_written_with_its_causes() {
        let failure = Failure(
            "checkout failed",
            Some(Box::new(Failure("database locked", None))),
        );
        let lines = lines_logged(|| {
            tracing::error!(error = &failure as &dyn std::error::Error, "request failed");
        });
        assert_eq!(
            lines,
            [" ERROR storecredit::telemetry::line_fields::tests: \
              request failed error=checkout failed: database locked"]
        );
    }
}
