//! Draws the measurements as SVG with plotters. Every figure ends with a line naming the
//! machine and the day it was measured on.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::false_sharing::Comparison;
use crate::granularity;
use crate::machine::Machine;
use crate::speedup::amdahl_speedup;
use crate::timeline::{Activity, Scenario, Slice};

const WIDTH: u32 = 900;
const FONT: &str = "sans-serif";
/// The book shows a 900-pixel figure about 750 pixels wide, so 17 pixels here read as about
/// 14 on the page.
const TEXT: u32 = 17;
const CAPTION: u32 = 22;
/// Colours safe for readers with the common forms of colour blindness (Okabe and Ito).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// `20000000` as `20 000 000`, which a reader takes in at a glance.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    grouped
}

fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Draws `draw` on an SVG canvas of `height` pixels with the machine line along the bottom.
fn svg(
    height: u32,
    machine: &Machine,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (body, footer) = root.split_vertically(height - 24);
        draw(&body)?;
        footer.draw(&Text::new(
            machine.to_string(),
            (10, 4),
            (FONT, TEXT - 1).into_font().color(&BLACK.mix(0.7)),
        ))?;
        root.present()?;
    }
    Ok(text)
}

/// The thread-activity timeline: one panel per scenario, one row per thread.
pub fn timeline(
    panels: &[(Scenario, Vec<Slice>)],
    threads: usize,
    machine: &Machine,
) -> anyhow::Result<String> {
    let panel_height = 76 + 34 * threads as u32;
    let end_ms = panels
        .iter()
        .flat_map(|(_, slices)| slices.iter().map(|slice| slice.end_ms))
        .fold(1.0f64, f64::max);
    svg(
        panel_height * panels.len() as u32 + 24 + KEY_HEIGHT,
        machine,
        |area| {
            let (body, key) = area.split_vertically(panel_height * panels.len() as u32);
            draw_activity_key(&key)?;
            for ((scenario, slices), panel) in
                panels.iter().zip(body.split_evenly((panels.len(), 1)))
            {
                let mut chart = ChartBuilder::on(&panel)
                    .caption(scenario.title(), (FONT, TEXT + 2))
                    .margin(6)
                    .x_label_area_size(44)
                    .y_label_area_size(80)
                    .build_cartesian_2d(0.0..end_ms * 1.02, -0.5..threads as f64 - 0.5)?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .light_line_style(WHITE)
                    .y_labels(2 * threads + 1)
                    .y_label_formatter(&|row| {
                        // Only whole numbers are rows; the ticks between them stay blank.
                        if (row - row.round()).abs() < 1e-6 && *row >= 0.0 {
                            format!("thread {}", row.round() as usize)
                        } else {
                            String::new()
                        }
                    })
                    .label_style((FONT, TEXT))
                    .axis_desc_style((FONT, TEXT))
                    .x_desc("milliseconds since the first slice started")
                    .draw()?;
                chart.draw_series(slices.iter().map(|slice| {
                    let row = slice.thread as f64;
                    let style = match slice.activity {
                        Activity::Compute => colour(slice.thread).filled(),
                        Activity::Wait => colour(slice.thread).mix(0.25).filled(),
                    };
                    Rectangle::new(
                        [(slice.start_ms, row - 0.35), (slice.end_ms, row + 0.35)],
                        style,
                    )
                }))?;
            }
            Ok(())
        },
    )
}

/// Height of the strip under the timeline that says what solid and pale bars mean.
const KEY_HEIGHT: u32 = 28;

/// The timeline's key: a solid bar is computing, a pale one waiting.
fn draw_activity_key(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
) -> anyhow::Result<()> {
    let entries = [
        (colour(0).filled(), "computing"),
        (
            colour(0).mix(0.25).filled(),
            "waiting without the lock (a sleep standing for I/O)",
        ),
    ];
    let mut x = 90;
    for (style, label) in entries {
        area.draw(&Rectangle::new([(x, 6), (x + 28, 20)], style))?;
        area.draw(&Text::new(label, (x + 36, 5), (FONT, TEXT)))?;
        x += 36 + 9 * label.len() as i32 + 30;
    }
    Ok(())
}

/// One measured speedup curve.
pub struct SpeedupSeries {
    pub label: String,
    /// The serial fraction whose Amdahl curve to draw beside it, if any.
    pub amdahl_serial_fraction: Option<f64>,
    pub points: Vec<(usize, f64)>,
}

/// The chart both line plots use: whole numbers of threads along x from 1 to `max_threads`.
type LineChart<'area, 'svg> =
    ChartContext<'area, SVGBackend<'svg>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The axes, caption and mesh of a plot of some measure against thread count.
fn line_chart<'area, 'svg>(
    area: &'area DrawingArea<SVGBackend<'svg>, plotters::coord::Shift>,
    caption: &str,
    max_threads: usize,
    top: f64,
    (x_desc, y_desc): (&str, &str),
) -> anyhow::Result<LineChart<'area, 'svg>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, CAPTION))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.8..max_threads as f64 + 0.2, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(max_threads)
        .x_label_formatter(&|threads| format!("{threads:.0}"))
        .light_line_style(WHITE)
        .label_style((FONT, TEXT))
        .axis_desc_style((FONT, TEXT))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

/// One measured series: a line through the points, a dot on each, and a legend entry.
fn draw_measured<'area, 'svg: 'area, X, Y>(
    chart: &mut ChartContext<'area, SVGBackend<'svg>, Cartesian2d<X, Y>>,
    index: usize,
    label: &str,
    points: Vec<(f64, f64)>,
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = colour(index).stroke_width(2);
    chart
        .draw_series(LineSeries::new(points.clone(), style))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    chart.draw_series(
        points
            .into_iter()
            .map(|point| Circle::new(point, 4, colour(index).filled())),
    )?;
    Ok(())
}

/// The top of a linear y axis that leaves the legend, drawn in an upper corner, a band of its
/// own above the highest point (about 7% of a plot's height per entry), so it never covers data.
fn with_room_for_legend(top: f64, entries: usize) -> f64 {
    top / (1.0 - 0.07 * entries as f64 - 0.05)
}

/// A tick label formatter that leaves a label blank when the tick before it printed the same
/// text: on a logarithmic axis two ticks can round to one number ("100", "100").
/// The values 1, 2 and 5 times a power of ten between `low` and `high`: marks for a logarithmic
/// axis that are evenly spread on it and read as round numbers.
fn marks_1_2_5(low: f64, high: f64) -> Vec<f64> {
    let mut marks = Vec::new();
    let mut decade = 10f64.powf(low.log10().floor());
    while decade <= high {
        marks.extend(
            [1.0, 2.0, 5.0]
                .map(|step| step * decade)
                .into_iter()
                .filter(|mark| (low..=high).contains(mark)),
        );
        decade *= 10.0;
    }
    marks
}

fn without_repeats(format: impl Fn(f64) -> String) -> impl Fn(&f64) -> String {
    let last = std::cell::RefCell::new(String::new());
    move |value| {
        let label = format(*value);
        if *last.borrow() == label {
            return String::new();
        }
        label.clone_into(&mut last.borrow_mut());
        label
    }
}

fn draw_legend<'area, 'svg: 'area, X, Y>(
    chart: &mut ChartContext<'area, SVGBackend<'svg>, Cartesian2d<X, Y>>,
    corner: SeriesLabelPosition,
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(corner)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, TEXT))
        .draw()?;
    Ok(())
}

/// Measured speedups as solid lines with points, Amdahl's law as dashed lines, and the core
/// count as a vertical line: past it there is no hardware left to speed anything up.
pub fn speedup(
    series: &[SpeedupSeries],
    cores: usize,
    machine: &Machine,
) -> anyhow::Result<String> {
    let max_workers = series
        .iter()
        .flat_map(|series| series.points.iter().map(|(workers, _)| *workers))
        .max()
        .unwrap_or(1);
    let top = series
        .iter()
        .flat_map(|series| series.points.iter().map(|(_, speedup)| *speedup))
        .fold(cores.min(max_workers) as f64, f64::max);
    // The core line, every series, and the key to the dashed lines.
    let top = with_room_for_legend(top * 1.05, series.len() + 2);
    svg(520, machine, |area| {
        let mut chart = line_chart(
            area,
            "Speedup against threads: measured, and Amdahl's law",
            max_workers,
            top,
            ("threads", "speedup T(1) / T(threads)"),
        )?;
        let cores_line = cores.min(max_workers) as f64;
        chart
            .draw_series(LineSeries::new(
                [(cores_line, 0.0), (cores_line, top)],
                BLACK.mix(0.6).stroke_width(3),
            ))?
            .label(format!("{cores} cores on this machine"))
            .legend(|(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.6).stroke_width(3))
            });
        for (index, series) in series.iter().enumerate() {
            let points = series
                .points
                .iter()
                .map(|&(workers, speedup)| (workers as f64, speedup))
                .collect();
            draw_measured(&mut chart, index, &series.label, points)?;
            if let Some(fraction) = series.amdahl_serial_fraction {
                // Threads past the core count wait for a core, so the law gets at most `cores`.
                let predicted = (1..=max_workers)
                    .map(|workers| (workers as f64, amdahl_speedup(fraction, workers.min(cores))));
                chart.draw_series(DashedLineSeries::new(
                    predicted,
                    6,
                    4,
                    colour(index).stroke_width(1),
                ))?;
            }
        }
        // A legend entry with no data, which explains the dashed lines.
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), u32>>())?
            .label(format!(
                "dashed: Amdahl's law, same serial fraction, at most {cores} cores"
            ))
            .legend(|(x, y)| {
                let style = BLACK.mix(0.6).stroke_width(1);
                EmptyElement::at((x, y))
                    + PathElement::new([(0, 0), (6, 0)], style)
                    + PathElement::new([(10, 0), (16, 0)], style)
            });
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// Time per thread count for adjacent and padded counters.
pub fn false_sharing(
    comparisons: &[Comparison],
    increments: u64,
    machine: &Machine,
) -> anyhow::Result<String> {
    let max_threads = comparisons.iter().map(|row| row.threads).max().unwrap_or(1);
    let millis = |duration: std::time::Duration| duration.as_secs_f64() * 1e3;
    let top = comparisons
        .iter()
        .map(|row| millis(row.adjacent).max(millis(row.padded)))
        .fold(1.0, f64::max);
    svg(480, machine, |area| {
        let caption = format!(
            "False sharing: each thread adds 1 to its own counter {} times",
            thousands(increments)
        );
        let mut chart = line_chart(
            area,
            &caption,
            max_threads,
            with_room_for_legend(top * 1.05, 2),
            (
                "threads, each with its own counter",
                "milliseconds (less is better)",
            ),
        )?;
        let series = |time: fn(&Comparison) -> std::time::Duration| {
            comparisons
                .iter()
                .map(|row| (row.threads as f64, millis(time(row))))
                .collect()
        };
        let adjacent = series(|row| row.adjacent);
        draw_measured(
            &mut chart,
            0,
            "counters side by side in one cache line",
            adjacent,
        )?;
        let padded = series(|row| row.padded);
        draw_measured(
            &mut chart,
            1,
            "each counter in its own CachePadded line",
            padded,
        )?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// Exercise 09's granularity curve: time against batch size, both on logarithmic axes, on one
/// thread and on every core. Logarithmic time keeps the slow tiny batches and the fast middle
/// readable on one plot; the gap between the two lines is then the speedup at each size.
pub fn granularity(
    points: &[granularity::Point],
    words: usize,
    cores: usize,
    machine: &Machine,
) -> anyhow::Result<String> {
    let millis = |duration: std::time::Duration| duration.as_secs_f64() * 1e3;
    let times = || {
        points
            .iter()
            .flat_map(|point| [millis(point.one_thread), millis(point.all_cores)])
    };
    let bottom = times().fold(f64::INFINITY, f64::min) * 0.7;
    // On a logarithmic axis, doubling the top leaves the upper quarter or so to the legend.
    let top = times().fold(1.0, f64::max) * 2.5;
    let largest_batch = points
        .iter()
        .map(|point| point.batch_size)
        .max()
        .unwrap_or(1);
    svg(480, machine, |area| {
        let caption = format!(
            "Granularity: counting {} words with count_by_key",
            thousands(words as u64)
        );
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, CAPTION))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (0.7..largest_batch as f64 * 1.5).log_scale(),
                // plotters marks a logarithmic axis from its first power of ten up, which
                // left the fast batches, all below 100 ms, without a single mark.
                (bottom..top)
                    .log_scale()
                    .with_key_points(marks_1_2_5(bottom, top)),
            )?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_label_formatter(&without_repeats(|size| thousands(size.round() as u64)))
            .y_label_formatter(&without_repeats(|time| format!("{time}")))
            .label_style((FONT, TEXT))
            .axis_desc_style((FONT, TEXT))
            .x_desc("items per batch (one rayon task each)")
            .y_desc("milliseconds (less is better)")
            .draw()?;
        let series = |time: fn(&granularity::Point) -> std::time::Duration| {
            points
                .iter()
                .map(|point| (point.batch_size as f64, millis(time(point))))
                .collect()
        };
        draw_measured(
            &mut chart,
            0,
            "on 1 thread",
            series(|point| point.one_thread),
        )?;
        draw_measured(
            &mut chart,
            1,
            &format!("on {cores} threads"),
            series(|point| point.all_cores),
        )?;
        // Tiny batches are slow, so the top left is taken; the legend goes top right.
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn machine() -> Machine {
        Machine::two_cores_on_a_fixed_day()
    }

    #[test]
    fn a_logarithmic_axis_is_marked_below_its_first_power_of_ten() {
        assert_eq!(marks_1_2_5(14.0, 405.0), [20.0, 50.0, 100.0, 200.0]);
        assert_eq!(marks_1_2_5(0.3, 3.0), [0.5, 1.0, 2.0]);
    }

    #[test]
    fn thousands_are_grouped_by_three() {
        assert_eq!(thousands(20_000_000), "20 000 000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1 000");
    }

    #[test]
    fn every_figure_states_the_machine_it_came_from() {
        let slice = |thread, start_ms, end_ms| Slice {
            thread,
            activity: Activity::Compute,
            start_ms,
            end_ms,
        };
        let timeline = timeline(
            &[(
                Scenario::GlobalLockCpuBound,
                vec![slice(0, 0.0, 1.0), slice(1, 1.0, 2.0)],
            )],
            2,
            &machine(),
        )
        .expect("the timeline draws");
        let speedup = speedup(
            &[SpeedupSeries {
                label: "free threads".to_string(),
                amdahl_serial_fraction: Some(0.0),
                points: vec![(1, 1.0), (2, 1.9)],
            }],
            2,
            &machine(),
        )
        .expect("the speedup plot draws");
        let comparison = Comparison {
            threads: 1,
            adjacent: Duration::from_millis(3),
            padded: Duration::from_millis(2),
        };
        let false_sharing =
            false_sharing(&[comparison], 1_000, &machine()).expect("the comparison draws");
        let point = granularity::Point {
            batch_size: 4_096,
            one_thread: Duration::from_millis(40),
            all_cores: Duration::from_millis(21),
        };
        let granularity =
            granularity(&[point], 10_000, 2, &machine()).expect("the granularity curve draws");
        for (name, svg) in [
            ("timeline", timeline),
            ("speedup", speedup),
            ("false sharing", false_sharing),
            ("granularity", granularity),
        ] {
            assert!(
                svg.starts_with("<svg"),
                "the {name} figure is not an SVG: {svg:.80}"
            );
            assert!(
                svg.contains("measured on 2 cores, 2026-05-01"),
                "the {name} figure does not say which machine and day it came from"
            );
        }
    }
}
