//! The shift report: one self-contained HTML file (no script, no outside CSS or fonts) with
//! inline SVG charts of throughput, backlog per node and open exceptions over the shift, the
//! fault marks on each, the KPIs and the table of final checks.

use super::checks::Check;
use super::timeline::{Sample, Timeline};
use super::world::ShiftWorld;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 230.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 34.0;
const COLOURS: [&str; 8] = [
    "#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
];

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line of a chart: its name, colour and points (`None`: no value, a gap).
#[derive(Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Stroke colour.
    pub colour: &'static str,
    /// (ms since the start, value).
    pub points: Vec<(u64, Option<f64>)>,
}

/// The scales of one chart.
#[derive(Debug, Clone, Copy)]
struct Frame {
    t_max: f64,
    v_max: f64,
}

impl Frame {
    const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
    const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

    fn new(series: &[Series], marks: &[(u64, String)]) -> Self {
        let t_max = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(marks.iter().map(|m| m.0))
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let v_max = series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1))
            .fold(0.0_f64, f64::max)
            .max(1.0);
        Self { t_max, v_max }
    }

    fn x(&self, t: u64) -> f64 {
        LEFT + t as f64 / self.t_max * Self::PLOT_W
    }

    fn y(&self, v: f64) -> f64 {
        TOP + Self::PLOT_H - v / self.v_max * Self::PLOT_H
    }

    /// The plot area, the axis ends and the unit.
    fn axes(&self, s: &mut String, unit: &str) {
        let (w, h) = (Self::PLOT_W, Self::PLOT_H);
        let (label_x, below) = (LEFT - 4.0, HEIGHT - BOTTOM + 14.0);
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="#f9fafb" stroke="#d1d5db"/>"##
        );
        let _ = write!(
            s,
            r##"<text x="{label_x}" y="{}" text-anchor="end">{}</text>"##,
            TOP + 10.0,
            fmt_num(self.v_max)
        );
        let _ = write!(
            s,
            r##"<text x="{label_x}" y="{}" text-anchor="end">0</text>"##,
            TOP + h
        );
        let _ = write!(s, r##"<text x="{LEFT}" y="{below}">0 s</text>"##);
        let _ = write!(
            s,
            r##"<text x="{}" y="{below}" text-anchor="end">{:.0} s</text>"##,
            LEFT + w,
            self.t_max / 1000.0
        );
        let _ = write!(
            s,
            r##"<text x="4" y="{}">{}</text>"##,
            HEIGHT - 4.0,
            esc(unit)
        );
    }

    /// The marks as numbered dashed verticals (the numbers of the report's list).
    fn marks(&self, s: &mut String, marks: &[(u64, String)]) {
        for (i, (t, what)) in marks.iter().enumerate() {
            let x = self.x(*t);
            let _ = write!(
                s,
                r##"<line class="mark" x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{}" stroke="#6b7280" stroke-dasharray="4 3"><title>{}</title></line>"##,
                TOP + Self::PLOT_H,
                esc(what)
            );
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" fill="#6b7280">{}</text>"##,
                x + 2.0,
                TOP + 12.0 + 11.0 * (i % 4) as f64,
                i + 1
            );
        }
    }

    /// Each series as polylines (broken at gaps) and its legend entry.
    fn lines(&self, s: &mut String, series: &[Series]) {
        for (i, line) in series.iter().enumerate() {
            for run in runs(&line.points) {
                let pts: Vec<String> = run
                    .iter()
                    .map(|(t, v)| format!("{:.1},{:.1}", self.x(*t), self.y(*v)))
                    .collect();
                let _ = write!(
                    s,
                    r##"<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>"##,
                    line.colour,
                    pts.join(" ")
                );
            }
            let ly = TOP + 12.0 + 16.0 * i as f64;
            let _ = write!(
                s,
                r##"<rect x="{}" y="{}" width="12" height="4" fill="{}"/><text x="{}" y="{ly}">{}</text>"##,
                WIDTH - RIGHT + 10.0,
                ly - 5.0,
                line.colour,
                WIDTH - RIGHT + 26.0,
                esc(&line.name)
            );
        }
    }
}

/// An SVG line chart with the fault marks as dashed verticals. `attrs` go on the `<svg>`.
pub fn chart(
    id: &str,
    unit: &str,
    series: &[Series],
    marks: &[(u64, String)],
    attrs: &str,
) -> String {
    let frame = Frame::new(series, marks);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11"{attrs}>"##
    );
    frame.axes(&mut s, unit);
    frame.marks(&mut s, marks);
    frame.lines(&mut s, series);
    s.push_str("</svg>");
    s
}

/// The stretches of consecutive points with a value.
fn runs(points: &[(u64, Option<f64>)]) -> Vec<Vec<(u64, f64)>> {
    let mut out = vec![Vec::new()];
    for (t, v) in points {
        match v {
            Some(v) => out.last_mut().into_iter().for_each(|r| r.push((*t, *v))),
            None => out.push(Vec::new()),
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

fn fmt_num(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Events the hub applied per second between consecutive samples with a hub answer.
fn throughput(samples: &[Sample]) -> Series {
    let mut points = Vec::new();
    let mut last: Option<(u64, u64)> = None;
    for s in samples {
        match (s.applied, last) {
            (Some(a), Some((t0, a0))) => {
                let dt = s.t_ms.saturating_sub(t0).max(1) as f64 / 1000.0;
                points.push((s.t_ms, Some(a.saturating_sub(a0) as f64 / dt)));
            }
            (None, _) => points.push((s.t_ms, None)),
            _ => {}
        }
        if let Some(a) = s.applied {
            last = Some((s.t_ms, a));
        }
    }
    Series {
        name: "events/s applied".into(),
        colour: COLOURS[0],
        points,
    }
}

fn backlog(samples: &[Sample], w: &ShiftWorld) -> Vec<Series> {
    w.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| Series {
            name: if i == w.offline {
                format!("{} (offline)", n.id)
            } else {
                n.id.clone()
            },
            colour: COLOURS[i % COLOURS.len()],
            points: samples
                .iter()
                .map(|s| {
                    (
                        s.t_ms,
                        s.backlog.get(i).copied().flatten().map(|v| v as f64),
                    )
                })
                .collect(),
        })
        .collect()
}

fn exceptions(samples: &[Sample]) -> Vec<Series> {
    let codes: BTreeSet<&String> = samples
        .iter()
        .flat_map(|s| s.exceptions.iter().flat_map(|m| m.keys()))
        .collect();
    codes
        .into_iter()
        .enumerate()
        .map(|(i, code)| Series {
            name: code.clone(),
            colour: COLOURS[(i + 1) % COLOURS.len()],
            points: samples
                .iter()
                .map(|s| {
                    let v = s
                        .exceptions
                        .as_ref()
                        .map(|m| m.get(code).copied().unwrap_or(0) as f64);
                    (s.t_ms, v)
                })
                .collect(),
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#111;max-width:980px}\
table{border-collapse:collapse;font-size:13px;margin:8px 0 20px}\
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}\
.pass{color:#059669;font-weight:bold}.fail{color:#dc2626;font-weight:bold}\
h2{font-size:16px;margin-top:28px}";

/// The verdict and the table of checks.
fn checks_table(h: &mut String, checks: &[Check]) {
    let all_ok = checks.iter().all(|c| c.ok);
    let (class, verdict) = if all_ok {
        ("pass", "All checks hold: the books balance.")
    } else {
        ("fail", "Some checks FAILED.")
    };
    let _ = writeln!(h, "<p id=\"verdict\" class=\"{class}\">{verdict}</p>");
    h.push_str("<h2>Final checks</h2>\n<table id=\"checks\"><thead><tr><th>check</th>");
    h.push_str("<th>result</th><th>figures</th></tr></thead><tbody>\n");
    for c in checks {
        let (class, word) = if c.ok {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td></tr>",
            esc(&c.name),
            esc(&c.detail)
        );
    }
    h.push_str("</tbody></table>\n");
}

/// The KPIs at the end.
fn kpi_table(h: &mut String, kpis: &Value) {
    h.push_str("<h2>KPIs at the end (GET /api/v1/kpis)</h2>\n<table id=\"kpis\"><tbody>\n");
    for key in [
        "fill_rate",
        "perfect_order_rate",
        "split_shipment_rate",
        "inventory_accuracy",
        "shipped_orders",
        "closed_orders",
        "counts",
        "orders_by_status",
        "open_exceptions_by_code",
    ] {
        let v = match &kpis[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(h, "<tr><th>{key}</th><td>{}</td></tr>", esc(&v));
    }
    h.push_str("</tbody></table>\n");
}

/// The whole report page.
pub fn report(w: &ShiftWorld, t: &Timeline, checks: &[Check], kpis: &Value, title: &str) -> String {
    let (samples, marks) = (t.samples(), t.marks());
    let offline: Vec<u64> = samples
        .iter()
        .filter_map(|s| s.backlog.get(w.offline).copied().flatten())
        .collect();
    let attrs = format!(
        r#" data-offline-node="{}" data-offline-max="{}" data-offline-final="{}""#,
        esc(w.offline_id()),
        offline.iter().max().copied().unwrap_or(0),
        offline.last().map(|v| v.to_string()).unwrap_or_default()
    );
    let title = esc(title);
    let mut h = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
    );
    checks_table(&mut h, checks);
    h.push_str("<h2>Faults and milestones</h2>\n<ol id=\"marks\">\n");
    for (ms, what) in &marks {
        let _ = writeln!(h, "<li>{:.1} s: {}</li>", *ms as f64 / 1000.0, esc(what));
    }
    h.push_str("</ol>\n<h2>Throughput: events the hub applied per second</h2>\n");
    h.push_str(&chart(
        "throughput-chart",
        "events/s",
        &[throughput(&samples)],
        &marks,
        "",
    ));
    h.push_str("\n<h2>Backlog: each node's outbox (events not yet acknowledged by the hub)</h2>\n");
    h.push_str(&chart(
        "backlog-chart",
        "events",
        &backlog(&samples, w),
        &marks,
        &attrs,
    ));
    h.push_str("\n<h2>Open exceptions by code</h2>\n");
    h.push_str(&chart(
        "exceptions-chart",
        "open",
        &exceptions(&samples),
        &marks,
        "",
    ));
    h.push('\n');
    kpi_table(&mut h, kpis);
    let _ = writeln!(
        h,
        "<p>{} samples; gaps in the hub's lines are its restart.</p>\n</body></html>",
        samples.len()
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: Vec<(u64, Option<f64>)>) -> Series {
        Series {
            name: "DC-01 <a&b>".into(),
            colour: COLOURS[0],
            points,
        }
    }

    #[test]
    fn a_sample_without_a_value_breaks_the_line_in_two() {
        let s = series(vec![
            (0, Some(1.0)),
            (10, Some(2.0)),
            (20, None),
            (30, Some(0.0)),
        ]);
        let svg = chart("c", "events", &[s], &[(15, "cut".into())], "");
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"mark\"").count(), 1, "{svg}");
    }

    #[test]
    fn names_and_marks_are_escaped_and_the_attributes_go_on_the_svg() {
        let svg = chart(
            "backlog-chart",
            "events",
            &[series(vec![(0, Some(3.0))])],
            &[(0, "<hub> & co".into())],
            r#" data-offline-max="3""#,
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"backlog-chart\""));
        assert!(svg.contains(r#"data-offline-max="3""#), "{svg}");
        assert!(svg.contains("DC-01 &lt;a&amp;b&gt;") && svg.contains("&lt;hub&gt; &amp; co"));
        assert!(!svg.contains("<hub>"));
    }
}
