//! HTML: one self-contained page (no network needed to open it) for people who would rather look
//! at a report than read it: an inline SVG chart above every table that asks for one, and the
//! tables under the charts. A few lines of script check on load that every chart rendered, so a
//! headless browser can tell a broken page from a good one.

use std::fmt::Write as _;

use anyhow::Result;

use super::terminal::display;
use super::{Cell, Chart, ChartKind, Options, Style, Table, Writer};

pub struct Html;

const PALETTE: [&str; 10] = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e", "#316395"];

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn value(c: &Cell) -> Option<f64> {
    match c {
        Cell::Num(x) if x.is_finite() => Some(*x),
        Cell::Int(n) => Some(*n as f64),
        _ => None,
    }
}

fn text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        other => display(other, Style::Text),
    }
}

/// Horizontal bars, one group per row and one bar per series: channels read down the page.
fn bars(t: &Table, chart: &Chart, out: &mut String) {
    let rows: Vec<&Vec<Cell>> = t.rows.iter().collect();
    let n = chart.series.len().max(1);
    let bar_h = if n > 4 { 7.0 } else { 12.0 };
    let group_h = bar_h * n as f64 + 8.0;
    let label_w = 230.0;
    let plot_w = 560.0;
    let legend_h = if n > 1 { 18.0 * n.div_ceil(4) as f64 + 6.0 } else { 0.0 };
    let height = legend_h + group_h * rows.len() as f64 + 24.0;
    let width = label_w + plot_w + 110.0;
    let vals = rows.iter().flat_map(|r| chart.series.iter().filter_map(|&s| r.get(s).and_then(value)));
    let (lo, hi) = vals.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi - lo > 0.0 { hi - lo } else { 1.0 };
    let x = |v: f64| label_w + (v - lo) / span * plot_w;
    let _ = writeln!(
        out,
        r#"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    for (k, &s) in chart.series.iter().enumerate() {
        if n == 1 {
            break;
        }
        let (lx, ly) = (label_w + (k % 4) as f64 * 170.0, 4.0 + (k / 4) as f64 * 18.0);
        // A series is named by its column title's first line (the model, in a credit table).
        let name = t.columns.get(s).and_then(|c| c.title.lines().next().map(str::to_string)).unwrap_or_default();
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="{ly}" width="12" height="12" fill="{}"/><text x="{}" y="{}" class="legend">{}</text>"#,
            PALETTE[k % PALETTE.len()],
            lx + 16.0,
            ly + 10.0,
            esc(&name)
        );
    }
    let zero = x(0.0);
    for (i, r) in rows.iter().enumerate() {
        let y0 = legend_h + i as f64 * group_h;
        let label = r.get(chart.label).map(text).unwrap_or_default();
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" class="label" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            y0 + group_h / 2.0 + 4.0,
            esc(&label)
        );
        for (k, &s) in chart.series.iter().enumerate() {
            let Some(v) = r.get(s).and_then(value) else {
                continue;
            };
            let (a, b) = if v >= 0.0 { (zero, x(v)) } else { (x(v), zero) };
            let y = y0 + 4.0 + k as f64 * bar_h;
            let style = t.columns.get(s).map_or(Style::Decimal, |c| c.style);
            let _ = writeln!(
                out,
                r#"<rect class="bar" x="{a:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                (b - a).max(0.5),
                bar_h - 1.0,
                PALETTE[k % PALETTE.len()],
                esc(&label),
                esc(&display(&Cell::Num(v), style))
            );
            if n <= 4 {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                    b.max(a) + 4.0,
                    y + bar_h - 2.0,
                    esc(&display(&Cell::Num(v), style))
                );
            }
        }
    }
    let _ = writeln!(out, r##"<line x1="{zero:.1}" y1="{legend_h}" x2="{zero:.1}" y2="{:.1}" stroke="#888"/>"##, height - 20.0);
    out.push_str("</svg>\n");
}

/// Vertical columns of the first series: a histogram over ordered buckets.
fn columns(t: &Table, chart: &Chart, out: &mut String) {
    let Some(&s) = chart.series.first() else {
        return;
    };
    let n = t.rows.len().max(1);
    let (col_w, plot_h, base) = (64.0, 180.0, 200.0);
    let width = col_w * n as f64 + 40.0;
    let height = base + 40.0;
    let hi = t.rows.iter().filter_map(|r| r.get(s).and_then(value)).fold(0.0f64, f64::max);
    let hi = if hi > 0.0 { hi } else { 1.0 };
    let style = t.columns.get(s).map_or(Style::Decimal, |c| c.style);
    let _ = writeln!(
        out,
        r#"<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    for (i, r) in t.rows.iter().enumerate() {
        let v = r.get(s).and_then(value).unwrap_or(0.0).max(0.0);
        let h = (v / hi * plot_h).max(0.5);
        let x = 20.0 + i as f64 * col_w;
        let label = r.get(chart.label).map(text).unwrap_or_default();
        let shown = display(&Cell::Num(v), style);
        let _ = writeln!(
            out,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {}</title></rect>"#,
            x + 6.0,
            base - h,
            col_w - 12.0,
            PALETTE[0],
            esc(&label),
            esc(&shown)
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="value" text-anchor="middle">{}</text>"#,
            x + col_w / 2.0,
            base - h - 4.0,
            esc(&shown)
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="middle">{}</text>"#,
            x + col_w / 2.0,
            base + 16.0,
            esc(&label)
        );
    }
    let _ = writeln!(out, r##"<line x1="16" y1="{base}" x2="{:.1}" y2="{base}" stroke="#888"/>"##, width - 16.0);
    out.push_str("</svg>\n");
}

fn table(t: &Table, out: &mut String) {
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for c in &t.columns {
        let class = if c.style == Style::Text { "" } else { r#" class="num""# };
        let _ = write!(out, "<th{class}>{}</th>", esc(&c.title.replace('\n', " ")));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let mut write_row = |row: &Vec<Cell>, total: bool| {
        out.push_str(if total { r#"<tr class="total">"# } else { "<tr>" });
        for (c, col) in row.iter().zip(&t.columns) {
            let class = if col.style == Style::Text { "" } else { r#" class="num""# };
            let _ = write!(out, "<td{class}>{}</td>", esc(&display(c, col.style)));
        }
        out.push_str("</tr>\n");
    };
    for r in &t.rows {
        write_row(r, false);
    }
    if let Some(tot) = &t.totals {
        write_row(tot, true);
    }
    out.push_str("</tbody>\n</table></div>\n");
}

const STYLE: &str = "body{font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{font-size:1.15em;margin-top:2.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
table{border-collapse:collapse;font-size:.85em;margin:.6em 0 1em}th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:left}\
th{background:#f5f5f5}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.total td{font-weight:bold;border-top:2px solid #ccc}\
svg.chart{display:block;margin:.8em 0;max-width:100%;height:auto}svg .label,svg .legend{font-size:12px;fill:#333}svg .value{font-size:11px;fill:#555}\
.note{color:#666;font-size:.9em}.scroll{overflow-x:auto}";

/// Marks the page once loaded: `data-rendered="ok"` when every chart drew bars with a size and
/// no script error happened; a headless browser test reads it from the DOM.
const CHECK: &str = "(function(){var errs=[];window.addEventListener('error',function(e){errs.push(String(e.message));});\
document.addEventListener('DOMContentLoaded',function(){var svgs=document.querySelectorAll('svg.chart');var ok=svgs.length>0;\
svgs.forEach(function(s){var b=s.getBBox();if(!(b.width>0&&b.height>0)||!s.querySelector('rect.bar')){ok=false;}});\
document.body.setAttribute('data-charts',String(svgs.length));document.body.setAttribute('data-errors',errs.join('; '));\
document.body.setAttribute('data-rendered',ok&&errs.length===0?'ok':'failed');});})();";

impl Writer for Html {
    fn write(&self, tables: &[Table], _: &Options) -> Result<Vec<u8>> {
        let heading = "touchpath report";
        let mut out = String::new();
        let _ = writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>", esc(heading));
        let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>", esc(heading));
        for t in tables {
            if !t.title.is_empty() {
                let _ = writeln!(out, "<h2>{}</h2>", esc(&t.title));
            }
            if t.columns.is_empty() {
                continue;
            }
            if let Some(chart) = &t.chart {
                if !t.rows.is_empty() {
                    match chart.kind {
                        ChartKind::Bars => bars(t, chart, &mut out),
                        ChartKind::Columns => columns(t, chart, &mut out),
                    }
                }
            }
            table(t, &mut out);
        }
        let _ = writeln!(out, "<p class=\"note\">Written by touchpath {}.</p>", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(out, "<script>{CHECK}</script>\n</body>\n</html>");
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Column, Table};
    use super::*;

    #[test]
    fn page_is_self_contained_and_escaped() {
        let mut t =
            Table::new("Credit <by> channel", vec![Column::new("channel", Style::Text), Column::new("conversions", Style::Decimal)]);
        t.rows.push(vec![Cell::Text("<script>alert(1)</script>".into()), Cell::Num(2.5)]);
        t.rows.push(vec![Cell::Text("Shapley".into()), Cell::Num(-0.5)]);
        t.chart = Some(Chart { kind: ChartKind::Bars, label: 0, series: vec![1] });
        let html = String::from_utf8(Html.write(&[t], &Options::default()).unwrap()).unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("Credit &lt;by&gt; channel"));
        assert_eq!(html.matches("<rect class=\"bar\"").count(), 2);
        for external in ["http://", "https://", "src=", "href="] {
            let outside_svg_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!outside_svg_ns.contains(external), "no external resource: {external}");
        }
    }
}
