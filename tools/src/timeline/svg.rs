//! A self-contained SVG: one lane per row, grouped by cage, time across;
//! calls coloured by class, errors marked red above their lane, exec and
//! exit as vertical ticks, forks as a line from parent to child. The plot
//! is a grid of one-pixel columns: each cell takes the colour of the class
//! that spent the most time in it, so the picture's size is bounded by
//! its lanes, not by the log's length. The log is read twice: once for the
//! lanes and the time span, once to paint.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use abi::catalog::CallClass;
use render::seconds;

use super::{walk, Lanes, Mark, FORK_NS};
use crate::meter::Meter;
use crate::Failure;

/// Columns of the plot, one pixel each.
const COLUMNS: u64 = 1000;
const LABEL_W: u64 = 190;
const RIGHT: u64 = 60;
const TOP: u64 = 44;
const LANE_H: u64 = 18;
const LANE_GAP: u64 = 2;
const CAGE_GAP: u64 = 10;
const AXIS_H: u64 = 34;
const LEGEND_H: u64 = 30;
const BACKGROUND: &str = "#f2f2f2";
const ERROR: &str = "#d62728";

/// The colour of each class, in [`CallClass::ALL`]'s order.
const COLOURS: [&str; 8] = [
    "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#edc948", "#76b7b2", "#9c755f", "#8c8c8c",
];

/// Where `class` is in [`CallClass::ALL`] (and [`COLOURS`]).
fn class_index(class: CallClass) -> usize {
    CallClass::ALL
        .iter()
        .position(|&c| c == class)
        .unwrap_or(COLOURS.len() - 1)
}

/// The index of `proc`, which forks are painted as.
const PROC: usize = 2;

/// What one pixel of one lane saw.
#[derive(Default, Clone)]
struct Cell {
    /// Nanoseconds per class.
    ns: [u64; 8],
    calls: u32,
    errors: u32,
}

impl Cell {
    fn class(&self) -> usize {
        (0..self.ns.len())
            .max_by_key(|&i| self.ns[i])
            .unwrap_or(COLOURS.len() - 1)
    }
}

/// Where each row is: rows are (cage, lane), cages in order.
struct Rows {
    y: BTreeMap<(u64, usize), u64>,
    height: u64,
}

impl Rows {
    fn new(lanes: &Lanes) -> Rows {
        let mut y = BTreeMap::new();
        let mut at = TOP;
        for (cage, count) in lanes.cages() {
            for lane in 0..count {
                y.insert((cage, lane), at);
                at += LANE_H + LANE_GAP;
            }
            at += CAGE_GAP;
        }
        Rows { y, height: at }
    }

    fn of(&self, cage: u64, lane: usize) -> Option<u64> {
        self.y.get(&(cage, lane)).copied()
    }
}

/// XML text and attribute escaping: the log's paths are untrusted.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn write(file: &Path, meter: &Meter, lanes: Lanes, out: &mut dyn Write) -> Result<(), Failure> {
    // Pass 1: lanes, the time span and each cage's program.
    let limit = lanes.limit();
    let mut lanes = lanes;
    let mut span = 1u64;
    let mut programs: BTreeMap<u64, String> = BTreeMap::new();
    walk(file, meter, &mut lanes, |mark, _| {
        match mark {
            Mark::Call { end_ns, .. } => span = span.max(*end_ns),
            Mark::Fork { at_ns, .. } => span = span.max(at_ns.saturating_add(FORK_NS)),
            Mark::Exec { cage, path, at_ns } => {
                span = span.max(*at_ns);
                // The one rule for log text: control bytes, which XML
                // cannot hold even as references, become escapes.
                programs.insert(*cage, formats::escape_bytes(path));
            }
            Mark::Exit { at_ns, .. } => span = span.max(*at_ns),
        }
        Ok(())
    })?;
    meter.next_pass();
    let rows = Rows::new(&lanes);
    let x_of =
        |ns: u64| -> u64 { (u128::from(ns) * u128::from(COLUMNS) / u128::from(span)) as u64 };
    let column = |ns: u64| x_of(ns).min(COLUMNS - 1);

    // Pass 2: paint.
    let mut cells: HashMap<(u64, usize), BTreeMap<u64, Cell>> = HashMap::new();
    let mut ticks: Vec<(u64, u64, &'static str)> = Vec::new();
    let mut forks: Vec<(u64, usize, u64, u64)> = Vec::new();
    let mut lanes = Lanes::new(limit);
    walk(file, meter, &mut lanes, |mark, _| {
        match mark {
            Mark::Call {
                record,
                lane,
                start_ns,
                end_ns,
                class,
                error,
                ..
            } => {
                let (c0, c1) = (
                    column(*start_ns),
                    column(end_ns.saturating_sub(1).max(*start_ns)),
                );
                let share = ((end_ns - start_ns) / (c1 - c0 + 1)).max(1);
                let i = class_index(*class);
                let row = cells.entry((record.cage, *lane)).or_default();
                for c in c0..=c1 {
                    let cell = row.entry(c).or_default();
                    cell.ns[i] = cell.ns[i].saturating_add(share);
                    if c == c0 {
                        cell.calls += 1;
                        cell.errors += u32::from(*error);
                    }
                }
            }
            Mark::Fork {
                parent,
                child,
                thread,
                lane,
                at_ns,
            } => {
                let row = cells.entry((*parent, *lane)).or_default();
                let cell = row.entry(column(*at_ns)).or_default();
                cell.ns[PROC] = cell.ns[PROC].saturating_add(FORK_NS);
                cell.calls += 1;
                if !*thread {
                    forks.push((*parent, *lane, *child, *at_ns));
                }
            }
            Mark::Exec { cage, at_ns, .. } => ticks.push((*cage, *at_ns, "exec")),
            Mark::Exit { cage, at_ns, .. } => ticks.push((*cage, *at_ns, "exit")),
        }
        Ok(())
    })?;

    let width = LABEL_W + COLUMNS + RIGHT;
    let height = rows.height + AXIS_H + LEGEND_H;
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    )?;
    writeln!(
        out,
        "<!-- tee-log timeline {} -->",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(
        out,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    )?;
    writeln!(
        out,
        r#"<text x="10" y="24" font-size="15">{} — {} s</text>"#,
        esc(&file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())),
        seconds(span)
    )?;
    let mut first_lane_of = BTreeMap::new();
    for (&(cage, lane), &y) in &rows.y {
        first_lane_of.entry(cage).or_insert(y);
        writeln!(
            out,
            r#"<g class="lane" data-cage="{cage}" data-lane="{}" data-x="{LABEL_W}" data-w="{COLUMNS}" data-y="{y}" data-h="{LANE_H}">"#,
            lane + 1
        )?;
        let label = if lane == 0 {
            match programs.get(&cage) {
                Some(p) => format!("cage {cage} ({p})"),
                None => format!("cage {cage}"),
            }
        } else {
            format!("lane {}", lane + 1)
        };
        writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL_W - 8,
            y + LANE_H - 5,
            esc(&label)
        )?;
        writeln!(
            out,
            r#"<rect x="{LABEL_W}" y="{y}" width="{COLUMNS}" height="{LANE_H}" fill="{BACKGROUND}"/>"#
        )?;
        if let Some(row) = cells.get(&(cage, lane)) {
            draw_row(out, row, y)?;
        }
        writeln!(out, "</g>")?;
    }
    for (cage, at_ns, what) in &ticks {
        let (Some(&y0), Some(count)) = (
            first_lane_of.get(cage),
            lanes
                .cages()
                .find(|(c, _)| c == cage)
                .map(|(_, n)| n as u64),
        ) else {
            continue;
        };
        let x = LABEL_W + column(*at_ns);
        let stroke = if *what == "exec" { "#222" } else { "#777" };
        writeln!(
            out,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{stroke}" stroke-width="2"><title>{what} at {} s</title></line>"#,
            y0 - 2,
            y0 + count * (LANE_H + LANE_GAP),
            seconds(*at_ns)
        )?;
    }
    for (parent, lane, child, at_ns) in &forks {
        let (Some(y0), Some(y1)) = (rows.of(*parent, *lane), rows.of(*child, 0)) else {
            continue;
        };
        let x = LABEL_W + column(*at_ns);
        writeln!(
            out,
            r#"<line x1="{x}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-dasharray="3,2"><title>fork: cage {parent} to cage {child}</title></line>"#,
            y0 + LANE_H / 2,
            x + 6,
            y1 + LANE_H / 2,
            COLOURS[PROC]
        )?;
    }
    // The time axis.
    let axis_y = rows.height + 4;
    writeln!(
        out,
        r##"<line x1="{LABEL_W}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#444"/>"##,
        LABEL_W + COLUMNS
    )?;
    for k in 0..=5u64 {
        let x = LABEL_W + COLUMNS * k / 5;
        writeln!(
            out,
            r##"<line x1="{x}" y1="{axis_y}" x2="{x}" y2="{}" stroke="#444"/><text x="{x}" y="{}" text-anchor="middle">{} s</text>"##,
            axis_y + 5,
            axis_y + 18,
            seconds(span / 5 * k)
        )?;
    }
    // The legend.
    let legend_y = rows.height + AXIS_H;
    let mut x = LABEL_W;
    for (class, fill) in CallClass::ALL.iter().zip(COLOURS) {
        writeln!(
            out,
            r#"<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{fill}"/><text x="{}" y="{}">{}</text>"#,
            x + 16,
            legend_y + 11,
            class.name()
        )?;
        x += 70;
    }
    writeln!(
        out,
        r#"<rect x="{x}" y="{legend_y}" width="12" height="4" fill="{ERROR}"/><text x="{}" y="{}">error</text>"#,
        x + 16,
        legend_y + 11
    )?;
    writeln!(out, "</svg>")?;
    Ok(())
}

/// One lane's cells as runs of one colour, errors above them.
fn draw_row(out: &mut dyn Write, row: &BTreeMap<u64, Cell>, y: u64) -> std::io::Result<()> {
    let mut cells = row.iter().peekable();
    while let Some((&start, cell)) = cells.next() {
        let class = cell.class();
        let (mut end, mut calls, mut errors, mut ns) =
            (start, cell.calls, cell.errors, cell.ns.iter().sum::<u64>());
        while let Some((&next, c)) = cells.peek() {
            if next != end + 1 || c.class() != class {
                break;
            }
            end = next;
            calls += c.calls;
            errors += c.errors;
            ns = ns.saturating_add(c.ns.iter().sum::<u64>());
            cells.next();
        }
        let x = LABEL_W + start;
        let w = end - start + 1;
        writeln!(
            out,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{LANE_H}" fill="{}"><title>{} calls ({}), {errors} errors, {} s</title></rect>"#,
            COLOURS[class],
            calls,
            CallClass::ALL[class].name(),
            seconds(ns)
        )?;
    }
    // Errors over the cells they happened in, wide enough to see.
    for (&column, _) in row.iter().filter(|(_, c)| c.errors > 0) {
        writeln!(
            out,
            r#"<rect x="{}" y="{}" width="3" height="5" fill="{ERROR}"/>"#,
            (LABEL_W + column).saturating_sub(1),
            y.saturating_sub(2)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn escaped_text_holds_no_markup(text in ".{0,40}") {
            let safe = esc(&text);
            prop_assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('"'));
            // Every & starts an entity this function wrote.
            for (at, _) in safe.match_indices('&') {
                let rest = &safe[at..];
                prop_assert!(["&amp;", "&lt;", "&gt;", "&quot;"].iter().any(|e| rest.starts_with(e)));
            }
        }
    }
}
