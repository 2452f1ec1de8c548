//! The reports' charts, drawn here as SVG (plotters' SVG backend) and inlined in
//! the page: no script, no inline style (the shapes carry presentation
//! attributes, which the CSP allows), a `<title>` and `<desc>` named by
//! `aria-labelledby`, and the same figures in a table beside each chart. Amounts
//! are plotted as floating dollars only to place the marks; every figure a
//! person reads comes from the exact table.

use plotters::prelude::*;
use time::Date;

use crate::store::reports::{OutstandingDay, SalesDay};

const WIDTH: u32 = 860;
const HEIGHT: u32 = 320;
const BARS: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
const REFUNDS: RGBColor = RGBColor(0xb8, 0x32, 0x32);
const LINE: RGBColor = RGBColor(0x27, 0x6e, 0x4f);
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);

/// A chart's accessible name and description, and the id its elements use.
pub struct ChartText<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// "$1,200" on the value axis.
fn axis_dollars(value: &f64) -> String {
    let whole = value.round() as i64;
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if whole < 0 {
        format!("-${grouped}")
    } else {
        format!("${grouped}")
    }
}

/// "Nov 2" on the day axis.
fn axis_day(days: &[Date], index: i64) -> String {
    usize::try_from(index)
        .ok()
        .and_then(|index| days.get(index))
        .map(|day| {
            let month = day.month().to_string();
            format!("{} {}", &month[..3], day.day())
        })
        .unwrap_or_default()
}

/// The top of the value axis: a little above the largest value, at least $1.
fn ceiling(largest: f64) -> f64 {
    (largest * 1.1).max(1.0)
}

/// Sales per day: a bar of gross sales each day and a line of the refunds made.
pub fn sales_chart(days: &[SalesDay], text: &ChartText<'_>) -> String {
    let dates: Vec<Date> = days.iter().map(|day| day.day).collect();
    let gross: Vec<f64> = days
        .iter()
        .map(|day| dollars(day.figures.gross.cents()))
        .collect();
    let refunds: Vec<f64> = days
        .iter()
        .map(|day| dollars(day.figures.refunds.cents()))
        .collect();
    let top = ceiling(gross.iter().chain(&refunds).copied().fold(0.0, f64::max));
    draw(text, |root| {
        let count = i64::try_from(days.len()).unwrap_or(i64::MAX).max(1);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(-1i64..count, 0f64..top)?;
        let label_day = |index: &i64| axis_day(&dates, *index);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&label_day)
            .y_label_formatter(&axis_dollars)
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .draw()?;
        chart
            .draw_series(gross.iter().enumerate().map(|(index, value)| {
                let index = index as i64;
                let mut bar = Rectangle::new([(index, 0.0), (index + 1, *value)], BARS.filled());
                bar.set_margin(0, 0, 1, 1);
                bar
            }))?
            .label("Gross sales")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BARS.filled()));
        chart
            .draw_series(LineSeries::new(
                refunds
                    .iter()
                    .enumerate()
                    .map(|(index, value)| (index as i64, *value)),
                REFUNDS.stroke_width(2),
            ))?
            .label("Refunds made")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], REFUNDS.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(INK)
            .label_font(("sans-serif", 13).into_font().color(&INK))
            .draw()?;
        Ok(())
    })
}

/// Credit outstanding at the end of each day.
pub fn liability_chart(series: &[OutstandingDay], text: &ChartText<'_>) -> String {
    let dates: Vec<Date> = series.iter().map(|day| day.day).collect();
    let values: Vec<f64> = series
        .iter()
        .map(|day| dollars(day.outstanding.cents()))
        .collect();
    let top = ceiling(values.iter().copied().fold(0.0, f64::max));
    draw(text, |root| {
        let count = i64::try_from(series.len()).unwrap_or(i64::MAX).max(1);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(0i64..(count - 1).max(1), 0f64..top)?;
        let label_day = |index: &i64| axis_day(&dates, *index);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&label_day)
            .y_label_formatter(&axis_dollars)
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .draw()?;
        chart.draw_series(LineSeries::new(
            values
                .iter()
                .enumerate()
                .map(|(index, value)| (index as i64, *value)),
            LINE.stroke_width(3),
        ))?;
        Ok(())
    })
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws on a fresh SVG, then makes it an accessible image that scales to its
/// container; an empty string if drawing failed (the table still shows every
/// figure).
fn draw(
    text: &ChartText<'_>,
    paint: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> DrawResult,
) -> String {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|error| Box::new(error) as Box<dyn std::error::Error>)
            .and_then(|()| paint(&root))
            .and_then(|()| {
                root.present()
                    .map_err(|error| Box::new(error) as Box<dyn std::error::Error>)
            })
    };
    if let Err(error) = drawn {
        tracing::warn!(%error, chart = text.id, "could not draw a report chart");
        return String::new();
    }
    accessible(&svg, text)
}

/// The root `<svg>` without its fixed size (its `viewBox` keeps the shape), named
/// by its `<title>` and described by its `<desc>`.
fn accessible(svg: &str, text: &ChartText<'_>) -> String {
    let Some(open) = svg.find("<svg") else {
        return String::new();
    };
    let Some(close) = svg[open..].find('>').map(|at| open + at) else {
        return String::new();
    };
    let attributes: String = svg[open + 4..close]
        .split('"')
        .collect::<Vec<_>>()
        .chunks(2)
        .filter_map(|pair| match pair {
            [name, value] => {
                let name = name.trim().trim_end_matches('=');
                (name != "width" && name != "height").then(|| format!(" {name}=\"{value}\""))
            }
            _ => None,
        })
        .collect();
    let id = escape(text.id);
    format!(
        "<svg{attributes} role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" class=\"report-chart__svg\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>{}",
        escape(text.title),
        escape(text.description),
        &svg[close + 1..]
    )
}

/// Text made safe inside an element or an attribute.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::Money;
    use crate::store::reports::SalesFigures;

    fn text() -> ChartText<'static> {
        ChartText {
            id: "sales-chart",
            title: "Sales <per> day",
            description: "Gross sales & refunds",
        }
    }

    #[test]
    fn a_chart_is_an_accessible_svg_that_scales_with_no_script_or_inline_style() {
        let days: Vec<SalesDay> = (1..=3)
            .map(|n| SalesDay {
                day: date!(2026 - 11 - 01).replace_day(n).unwrap(),
                figures: SalesFigures {
                    orders: 1,
                    gross: Money::from_cents(n as i64 * 1_000),
                    ..SalesFigures::default()
                },
            })
            .collect();
        let svg = sales_chart(&days, &text());
        assert!(
            svg.starts_with("<svg viewBox=\"0 0 860 320\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"sales-chart-title sales-chart-desc\""),
            "{}",
            &svg[..200.min(svg.len())]
        );
        assert!(svg.contains("<title id=\"sales-chart-title\">Sales &lt;per&gt; day</title>"));
        assert!(svg.contains("<desc id=\"sales-chart-desc\">Gross sales &amp; refunds</desc>"));
        assert!(svg.contains("<rect"), "bars are drawn");
        assert!(svg.contains("Nov 1"), "days label the axis");
        assert!(svg.trim_end().ends_with("</svg>"));
        let root = &svg[..svg.find('>').unwrap()];
        assert!(!root.contains("width=") && !root.contains("height="), "{root}");
        for forbidden in ["<script", "style=", "onload", "href"] {
            assert!(!svg.contains(forbidden), "{forbidden} in the chart");
        }
    }

    #[test]
    fn an_empty_or_flat_series_still_draws() {
        let flat = [OutstandingDay {
            day: date!(2026 - 11 - 01),
            outstanding: Money::ZERO,
        }];
        let svg = liability_chart(&flat, &text());
        assert!(svg.contains("<polyline") || svg.contains("<path"), "{svg}");
        assert!(!liability_chart(&[], &text()).is_empty());
    }

    #[test]
    fn the_value_axis_reads_in_whole_dollars_with_separators() {
        assert_eq!(axis_dollars(&1234567.4), "$1,234,567");
        assert_eq!(axis_dollars(&0.0), "$0");
        assert_eq!(axis_dollars(&-25.0), "-$25");
    }
}
