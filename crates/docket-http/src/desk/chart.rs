//! The dashboard's chart: requests opened and completed per day, drawn as an inline SVG on
//! the server (no chart library, no CDN, readable without JavaScript).

use chrono::NaiveDate;
use std::fmt::Write as _;

/// One day of the chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub opened: u32,
    pub completed: u32,
}

/// Counts `opened` and `completed` instants into the `days` days ending with `last`.
pub fn per_day(
    last: NaiveDate,
    days: u32,
    opened: impl IntoIterator<Item = NaiveDate>,
    completed: impl IntoIterator<Item = NaiveDate>,
) -> Vec<Day> {
    let first = last - chrono::Days::new(u64::from(days.saturating_sub(1)));
    let mut out: Vec<Day> = first
        .iter_days()
        .take(days as usize)
        .map(|date| Day {
            date,
            opened: 0,
            completed: 0,
        })
        .collect();
    let slot = |d: NaiveDate| usize::try_from((d - first).num_days()).ok();
    for d in opened {
        if let Some(day) = slot(d).and_then(|i| out.get_mut(i)) {
            day.opened += 1;
        }
    }
    for d in completed {
        if let Some(day) = slot(d).and_then(|i| out.get_mut(i)) {
            day.completed += 1;
        }
    }
    out
}

/// The median of `durations` in seconds, or `None` when there are none.
pub fn median_secs(mut durations: Vec<i64>) -> Option<i64> {
    if durations.is_empty() {
        return None;
    }
    durations.sort_unstable();
    let n = durations.len();
    Some(if n % 2 == 1 {
        durations[n / 2]
    } else {
        (durations[n / 2 - 1] + durations[n / 2]) / 2
    })
}

/// A duration for people: `3 d 4 h`, `5 h 12 min`, `40 min`, `under a minute`.
pub fn humanize(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => "under a minute".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// Two bars per day (opened, completed) with a y axis, day labels every week, a legend and
/// a text alternative for screen readers.
pub fn svg(days: &[Day]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 28.0;
    const TOP: f64 = 24.0;
    let max = days
        .iter()
        .map(|d| d.opened.max(d.completed))
        .max()
        .unwrap_or(0)
        .max(1);
    // A round top for the axis: 1, 2, 5, 10, 20, 50, ...
    let top = [1u32, 2, 5]
        .iter()
        .flat_map(|m| (0..7).map(move |e| m * 10u32.pow(e)))
        .filter(|t| *t >= max)
        .min()
        .unwrap_or(max);
    let plot_h = H - BOTTOM - TOP;
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let bar = (slot / 2.0 - 1.0).max(1.0);
    let y = |v: u32| TOP + plot_h * (1.0 - f64::from(v) / f64::from(top));
    let opened: u32 = days.iter().map(|d| d.opened).sum();
    let completed: u32 = days.iter().map(|d| d.completed).sum();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">Requests opened and completed per day</title>
<desc id="chart-desc">Over the last {n} days, {opened} requests were opened and {completed} completed.</desc>
"#,
        n = days.len()
    );
    let ticks = if top.is_multiple_of(2) {
        vec![0, top / 2, top]
    } else {
        vec![0, top]
    };
    for tick in ticks {
        let ty = y(tick);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{W}" y1="{ty:.1}" y2="{ty:.1}" stroke="#ddd"/><text x="{x:.1}" y="{ty2:.1}" font-size="10" text-anchor="end" fill="#555">{tick}</text>"##,
            x = LEFT - 4.0,
            ty2 = ty + 3.0
        );
    }
    for (i, d) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        for (j, (v, class)) in [(d.opened, "opened"), (d.completed, "completed")]
            .into_iter()
            .enumerate()
        {
            if v > 0 {
                let top_y = y(v);
                let _ = writeln!(
                    s,
                    r#"<rect class="{class}" x="{bx:.1}" y="{top_y:.1}" width="{bar:.1}" height="{h:.1}"><title>{date}: {v} {class}</title></rect>"#,
                    bx = x + 1.0 + j as f64 * (bar + 1.0),
                    h = (H - BOTTOM) - top_y,
                    date = d.date
                );
            }
        }
        // A label a week apart, counted back from today so the last day is labelled.
        if (days.len() - 1 - i).is_multiple_of(7) {
            let _ = writeln!(
                s,
                r##"<text x="{tx:.1}" y="{ty}" font-size="10" fill="#555">{label}</text>"##,
                tx = x,
                ty = H - BOTTOM + 14.0,
                label = d.date.format("%b %d")
            );
        }
    }
    let _ = write!(
        s,
        r#"<rect class="opened" x="{LEFT}" y="4" width="10" height="10"/><text x="{a}" y="13" font-size="11">opened ({opened})</text>
<rect class="completed" x="{b}" y="4" width="10" height="10"/><text x="{c}" y="13" font-size="11">completed ({completed})</text>
</svg>"#,
        a = LEFT + 14.0,
        b = LEFT + 120.0,
        c = LEFT + 134.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn counts_fall_on_their_days_and_outside_ones_are_dropped() {
        let days = per_day(
            date("2026-11-23"),
            3,
            [
                date("2026-11-21"),
                date("2026-11-23"),
                date("2026-11-23"),
                date("2026-11-01"),
            ],
            [date("2026-11-22")],
        );
        let counts: Vec<_> = days.iter().map(|d| (d.opened, d.completed)).collect();
        assert_eq!(counts, vec![(1, 0), (0, 1), (2, 0)]);
        assert_eq!(days[0].date, date("2026-11-21"));
    }

    #[test]
    fn the_median_is_the_middle_value() {
        assert_eq!(median_secs(vec![]), None);
        assert_eq!(median_secs(vec![30, 10, 20]), Some(20));
        assert_eq!(median_secs(vec![40, 10, 20, 30]), Some(25));
        assert_eq!(humanize(90_000), "1 d 1 h");
        assert_eq!(humanize(3_720), "1 h 2 min");
        assert_eq!(humanize(30), "under a minute");
    }

    #[test]
    fn the_svg_has_a_bar_per_nonzero_count_and_a_text_alternative() {
        let days = per_day(
            date("2026-11-23"),
            30,
            [date("2026-11-23")],
            [date("2026-11-22"), date("2026-11-22")],
        );
        let svg = svg(&days);
        assert!(svg.starts_with("<svg"));
        assert_eq!(
            svg.matches(r#"<rect class="opened" x="#).count(),
            2,
            "one bar and the legend"
        );
        assert!(svg.contains("2026-11-22: 2 completed"));
        assert!(svg.contains("1 requests were opened and 2 completed"));
    }
}
