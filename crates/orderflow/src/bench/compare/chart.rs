//! A scenario's chart, as SVG: accepted orders per second above, the accept latency's
//! p99 per second below (log scale), both systems in each, the fault's window shaded.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use super::outcome::Second;

pub struct Chart<'a> {
    pub title: String,
    pub seconds: u64,
    /// The fault's window, in seconds from the start, if there was one.
    pub fault: Option<(f64, f64)>,
    pub sync: &'a [Second],
    pub events: &'a [Second],
}

const SYNC: RGBColor = RGBColor(0xd6, 0x4a, 0x2b);
const EVENTS: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
const FAULT: RGBColor = RGBColor(0xf2, 0xc1, 0x4e);

pub fn draw(path: &Path, chart: &Chart<'_>) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let root = root
        .titled(&chart.title, ("sans-serif", 20))
        .map_err(|e| anyhow!("{e}"))?;
    let (top, bottom) = root.split_vertically(260);
    let x = 0f64..chart.seconds as f64;

    let most = chart
        .sync
        .iter()
        .chain(chart.events)
        .map(|s| s.attempted.max(s.accepted))
        .max()
        .unwrap_or(1) as f64;
    let mut accepted = ChartBuilder::on(&top)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x.clone(), 0f64..most * 1.15)
        .map_err(|e| anyhow!("{e}"))?;
    accepted
        .configure_mesh()
        .y_desc("accepted orders/s")
        .x_desc("seconds")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    shade(&mut accepted, chart.fault, 0.0, most * 1.15)?;
    for (name, color, seconds) in [
        ("sync chain", SYNC, chart.sync),
        ("orderflow", EVENTS, chart.events),
    ] {
        accepted
            .draw_series(LineSeries::new(
                seconds
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i as f64 + 0.5, s.accepted as f64)),
                color.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    accepted
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;

    let slowest = chart
        .sync
        .iter()
        .chain(chart.events)
        .filter_map(|s| s.accept_p99_ms)
        .fold(10.0, f64::max);
    let mut latency = ChartBuilder::on(&bottom)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x, (0.1f64..slowest * 2.0).log_scale())
        .map_err(|e| anyhow!("{e}"))?;
    latency
        .configure_mesh()
        .y_desc("accept p99, ms (log)")
        .x_desc("seconds")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    shade(&mut latency, chart.fault, 0.1, slowest * 2.0)?;
    for (color, seconds) in [(SYNC, chart.sync), (EVENTS, chart.events)] {
        latency
            .draw_series(LineSeries::new(
                seconds
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| Some((i as f64 + 0.5, s.accept_p99_ms?.max(0.1)))),
                color.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// The fault's window, shaded from `low` to `high`.
fn shade<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    fault: Option<(f64, f64)>,
    low: f64,
    high: f64,
) -> anyhow::Result<()>
where
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let Some((from, to)) = fault else {
        return Ok(());
    };
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(from, low), (to, high)],
            FAULT.mix(0.3).filled(),
        )))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
