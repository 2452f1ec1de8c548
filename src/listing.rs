//! Lists as the commands print them and the console downloads them: an aligned
//! table for people, CSV (formula-safe) or JSON for programs, from the same rows.

pub mod rows;

use std::io::Write;

use anyhow::Context;
use serde::ser::{Serialize, SerializeMap, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::domain::{LastDay, Money};

/// How a list is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading; money as `$1,234.56`.
    #[default]
    Table,
    /// A header line, then one line per row; money as `1234.56`, days as `2027-01-31`.
    Csv,
    /// An array of objects keyed by the CSV header; money as the number `1234.56`.
    Json,
}

/// One value in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Money(Money),
    Count(i64),
    /// An amount that may be below zero (a day's net, in cents): `-$25.00` in
    /// the table, `-25.00` elsewhere.
    SignedMoney(i64),
    /// A percentage: `20%` in the table, `20` elsewhere.
    Percent(u8),
    /// A last day (an expiry, a deadline).
    Day(LastDay),
    Instant(OffsetDateTime),
    Flag(bool),
    /// No value: blank in CSV, `null` in JSON, these words in the table
    /// ("never", "no cap").
    Nothing(&'static str),
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell::Text(text.into())
    }

    fn is_number(&self) -> bool {
        matches!(
            self,
            Cell::Money(_) | Cell::SignedMoney(_) | Cell::Count(_) | Cell::Percent(_)
        )
    }

    pub(super) fn for_people(&self) -> String {
        match self {
            Cell::Text(text) => for_people(text),
            Cell::Money(amount) => amount.to_string(),
            Cell::Count(count) => count.to_string(),
            Cell::SignedMoney(cents) if *cents < 0 => format!("-{}", Money::from_cents(-cents)),
            Cell::SignedMoney(cents) => Money::from_cents(*cents).to_string(),
            Cell::Percent(percent) => format!("{percent}%"),
            Cell::Day(day) => day.to_string(),
            Cell::Instant(at) => moment(*at),
            Cell::Flag(yes) => if *yes { "yes" } else { "no" }.to_owned(),
            Cell::Nothing(words) => (*words).to_owned(),
        }
    }

    /// The value as CSV and JSON carry it; `None` for nothing.
    fn for_programs(&self) -> Option<String> {
        Some(match self {
            Cell::Text(text) => text.clone(),
            // Always two decimals, whatever scale the amount was made with.
            Cell::Money(amount) => rust_decimal::Decimal::new(amount.cents(), 2).to_string(),
            Cell::Count(count) => count.to_string(),
            Cell::SignedMoney(cents) => rust_decimal::Decimal::new(*cents, 2).to_string(),
            Cell::Percent(percent) => percent.to_string(),
            Cell::Day(day) => day.date().to_string(),
            Cell::Instant(at) => at
                .to_offset(time::UtcOffset::UTC)
                .format(&Rfc3339)
                .unwrap_or_default(),
            Cell::Flag(yes) => yes.to_string(),
            Cell::Nothing(_) => return None,
        })
    }
}

/// An instant as people read it in these lists: `2026-12-04 13:05 UTC`.
/// Text as a command prints it for people: control, format and direction
/// characters written as `\u{202E}`, so a name cannot turn the rest of a line
/// around or break a row in two.
pub fn for_people(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_format_character(c) {
            shown.push_str(&format!("\\u{{{:X}}}", u32::from(c)));
        } else {
            shown.push(c);
        }
    }
    shown
}

/// Unicode's invisible format characters (general category Cf), the direction
/// marks, embeddings, overrides and isolates among them.
fn is_format_character(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

pub fn moment(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_default()
}

/// Rows under named columns (the names are the CSV header and the JSON keys).
#[derive(Debug)]
pub struct Listing {
    columns: &'static [&'static str],
    rows: Vec<Vec<Cell>>,
}

impl Listing {
    pub fn new(columns: &'static [&'static str]) -> Listing {
        Listing {
            columns,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(row.len(), self.columns.len(), "one cell per column");
        self.rows.push(row);
    }

    pub fn write(&self, format: Format, out: &mut impl Write) -> anyhow::Result<()> {
        match format {
            Format::Table => self.write_table(out),
            Format::Csv => self.write_csv(out),
            Format::Json => self.write_json(out),
        }
        .context("cannot write the list")
    }

    fn write_table(&self, out: &mut impl Write) -> anyhow::Result<()> {
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|name| name.replace('_', " ").to_uppercase())
            .collect();
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(Cell::for_people).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|column| {
                cells
                    .iter()
                    .map(|row| row[column].chars().count())
                    .chain([header[column].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        // A column of amounts or counts (some perhaps missing) lines up on the
        // right, header included.
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|column| {
                self.rows.iter().any(|row| row[column].is_number())
                    && self
                        .rows
                        .iter()
                        .all(|row| row[column].is_number() || matches!(row[column], Cell::Nothing(_)))
            })
            .collect();
        let mut line = |texts: &[String]| -> std::io::Result<()> {
            let mut text = String::new();
            for (column, cell) in texts.iter().enumerate() {
                let pad = " ".repeat(widths[column] - cell.chars().count());
                if column > 0 {
                    text.push_str("  ");
                }
                if numeric[column] {
                    text.push_str(&pad);
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(&header)?;
        for row in &cells {
            line(row)?;
        }
        Ok(())
    }

    fn write_csv(&self, out: &mut impl Write) -> anyhow::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(self.columns)?;
        for row in &self.rows {
            writer.write_record(row.iter().map(|cell| match cell {
                Cell::Text(text) => defused(text),
                other => other.for_programs().unwrap_or_default(),
            }))?;
        }
        writer.flush()?;
        Ok(())
    }

    fn write_json(&self, out: &mut impl Write) -> anyhow::Result<()> {
        let rows: Vec<JsonRow> = self
            .rows
            .iter()
            .map(|cells| JsonRow {
                columns: self.columns,
                cells,
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        Ok(())
    }
}

/// Text a spreadsheet would run as a formula (`=HYPERLINK(…)` as a shopper's
/// name) starts with an apostrophe in CSV, so opening the file runs nothing.
fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

struct JsonRow<'a> {
    columns: &'static [&'static str],
    cells: &'a [Cell],
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        for (name, cell) in self.columns.iter().zip(self.cells) {
            match cell {
                // Exact decimals as JSON numbers, never through a float.
                Cell::Money(_) | Cell::SignedMoney(_) | Cell::Count(_) | Cell::Percent(_) => {
                    let number =
                        serde_json::value::RawValue::from_string(cell.for_programs().unwrap_or_default())
                            .map_err(serde::ser::Error::custom)?;
                    map.serialize_entry(name, &number)?;
                }
                Cell::Flag(yes) => map.serialize_entry(name, yes)?,
                Cell::Nothing(_) => map.serialize_entry(name, &())?,
                other => map.serialize_entry(name, &other.for_programs())?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sample() -> Listing {
        let mut listing = Listing::new(&["id", "name", "remaining", "last_day", "placed", "active"]);
        listing.push(vec![
            Cell::Count(7),
            Cell::text("Ann, \"the\" shopper"),
            Cell::Money(Money::from_cents(123_456)),
            Cell::Day(LastDay::parse("2027-01-31").unwrap()),
            Cell::Instant(datetime!(2026-12-04 13:05:09 UTC)),
            Cell::Flag(true),
        ]);
        listing.push(vec![
            Cell::Count(12),
            Cell::text("=cmd|' /C calc'!A0"),
            Cell::Money(Money::from_cents(5)),
            Cell::Nothing("never"),
            Cell::Instant(datetime!(2026-12-05 0:00 UTC)),
            Cell::Flag(false),
        ]);
        listing
    }

    fn written(format: Format) -> String {
        let mut out = Vec::new();
        sample().write(format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn amounts_always_carry_two_decimals_and_a_net_may_be_below_zero() {
        let mut listing = Listing::new(&["zero", "net", "loss"]);
        listing.push(vec![
            Cell::Money(Money::ZERO),
            Cell::SignedMoney(7_600),
            Cell::SignedMoney(-2_500),
        ]);
        let mut csv = Vec::new();
        listing.write(Format::Csv, &mut csv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "zero,net,loss\n0.00,76.00,-25.00\n"
        );
        let mut table = Vec::new();
        listing.write(Format::Table, &mut table).unwrap();
        assert!(
            String::from_utf8(table)
                .unwrap()
                .ends_with("$0.00  $76.00  -$25.00\n")
        );
        let mut json = Vec::new();
        listing.write(Format::Json, &mut json).unwrap();
        let json = String::from_utf8(json).unwrap();
        assert!(json.contains("\"loss\": -25.00"), "{json}");
    }

    #[test]
    fn text_for_people_shows_direction_and_control_characters_escaped() {
        assert_eq!(for_people("Mixed \u{202E} name"), "Mixed \\u{202E} name");
        assert_eq!(for_people("two\nlines\u{200B}"), "two\\u{A}lines\\u{200B}");
        assert_eq!(for_people("Zoë Ålund"), "Zoë Ålund");
    }

    #[test]
    fn a_table_aligns_its_columns_and_shows_money_as_dollars() {
        let table = written(Format::Table);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "ID  NAME                REMAINING  LAST DAY          PLACED                ACTIVE"
        );
        assert_eq!(
            lines[1],
            " 7  Ann, \"the\" shopper  $1,234.56  January 31, 2027  2026-12-04 13:05 UTC  yes"
        );
        assert_eq!(
            lines[2],
            "12  =cmd|' /C calc'!A0      $0.05  never             2026-12-05 00:00 UTC  no"
        );
    }

    #[test]
    fn csv_carries_plain_decimals_iso_days_and_quotes() {
        let csv = written(Format::Csv);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(header.iter().collect::<Vec<_>>(), sample().columns);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                "7",
                "Ann, \"the\" shopper",
                "1234.56",
                "2027-01-31",
                "2026-12-04T13:05:09Z",
                "true"
            ]
        );
        assert_eq!(&rows[1][1], "'=cmd|' /C calc'!A0");
        assert_eq!(&rows[1][2], "0.05");
        assert_eq!(&rows[1][3], "");
    }

    #[test]
    fn json_is_an_array_of_objects_with_exact_numbers() {
        let json = written(Format::Json);
        assert!(json.contains("\"remaining\": 1234.56"), "{json}");
        assert!(json.contains("\"remaining\": 0.05"), "{json}");
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(&json).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["id"], 7);
        assert_eq!(rows[0]["last_day"], "2027-01-31");
        assert_eq!(rows[0]["active"], true);
        assert_eq!(rows[1]["last_day"], serde_json::Value::Null);
        assert_eq!(rows[1]["name"], "=cmd|' /C calc'!A0");
    }

    #[test]
    fn an_empty_list_is_a_header_or_an_empty_array() {
        let empty = Listing::new(&["id", "email"]);
        let mut out = Vec::new();
        empty.write(Format::Csv, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "id,email\n");
        let mut out = Vec::new();
        empty.write(Format::Json, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap().trim(), "[]");
    }
}
