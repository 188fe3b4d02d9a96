//! The thundering herd, simulated: why retries need jitter.
//!
//! Reproduces the model of the AWS Architecture Blog study "Exponential
//! Backoff and Jitter" (2015) with the runtime's own delay schedule (see
//! `retry_runtime::sim`), prints the tables, and writes SVG charts to
//! `docs/img/`:
//!
//! - `herd-work.svg`, `herd-time.svg`: writes and completion time against the
//!   number of contending clients, per strategy (100 trials per point);
//! - `herd-outage.svg`: calls per 10 ms during and after an outage.
//!
//! Run it with `cargo run --release -p examples --example herd`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plotters::prelude::*;
use retry_runtime::sim::{BUCKET, Mean, Outage, OutageRun, Strategy, contention_mean};

const TRIALS: u32 = 100;
const SEED: u64 = 2015;

/// The outage scenario of the charts and the table.
const OUTAGE: Outage = Outage {
    clients: 1000,
    outage: Duration::from_secs(1),
    admitted_per_bucket: 10,
    round_trip: Duration::from_millis(20),
};

const COLOURS: [RGBColor; 6] = [
    RGBColor(120, 120, 120),
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

fn main() -> Result<(), Box<dyn Error>> {
    let strategies = Strategy::study();
    let clients: Vec<usize> = (10..=100).step_by(10).collect();

    let grid: Vec<Vec<Mean>> = strategies
        .iter()
        .map(|strategy| clients.iter().map(|&n| contention_mean(strategy, n, TRIALS, SEED)).collect())
        .collect();

    println!("Contention ({TRIALS} trials per point): writes (mean)");
    print_table(&clients, &strategies, &grid, |mean| format!("{:.0}", mean.calls));
    println!("\nContention: completion time in ms (mean)");
    print_table(&clients, &strategies, &grid, |mean| format!("{:.0}", mean.completion_ms));

    let runs: Vec<OutageRun> = strategies.iter().map(|strategy| OUTAGE.run(strategy, SEED)).collect();
    println!(
        "\nOutage: {} clients fail at 0, everything rejected for {:?}, then {} calls admitted per 10 ms",
        OUTAGE.clients, OUTAGE.outage, OUTAGE.admitted_per_bucket
    );
    println!("{:<14} {:>10} {:>14} {:>22}", "strategy", "calls", "all done (ms)", "peak per 10 ms after");
    for (strategy, run) in strategies.iter().zip(&runs) {
        println!(
            "{:<14} {:>10} {:>14} {:>22}",
            strategy.name,
            run.calls,
            run.completion.as_millis(),
            run.peak_after_recovery
        );
    }
    println!("(with a retry budget: waits for the retry-budget feature)");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/img");
    std::fs::create_dir_all(&dir)?;
    line_chart(
        &dir.join("herd-work.svg"),
        "Work: writes until every client succeeded",
        "writes",
        &clients,
        &strategies,
        &grid,
        |mean| mean.calls,
    )?;
    line_chart(&dir.join("herd-time.svg"), "Completion time (ms)", "ms", &clients, &strategies, &grid, |mean| {
        mean.completion_ms
    })?;
    outage_chart(&dir.join("herd-outage.svg"), &strategies, &runs)?;
    println!("\nCharts written to {}", display(&dir).display());
    Ok(())
}

fn display(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

fn print_table(clients: &[usize], strategies: &[Strategy], grid: &[Vec<Mean>], cell: impl Fn(&Mean) -> String) {
    print!("{:<14}", "N");
    for n in clients {
        print!("{n:>8}");
    }
    println!();
    for (strategy, row) in strategies.iter().zip(grid) {
        print!("{:<14}", strategy.name);
        for mean in row {
            print!("{:>8}", cell(mean));
        }
        println!();
    }
}

#[allow(clippy::cast_precision_loss, reason = "client counts are small")]
fn line_chart(
    path: &Path,
    title: &str,
    unit: &str,
    clients: &[usize],
    strategies: &[Strategy],
    grid: &[Vec<Mean>],
    value: impl Fn(&Mean) -> f64,
) -> Result<(), Box<dyn Error>> {
    let top = grid.iter().flatten().map(&value).fold(0.0_f64, f64::max) * 1.05;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0.0..(clients.last().copied().unwrap_or(100) as f64 + 5.0),
            (1.0..top.max(2.0)).log_scale(),
        )?;
    chart.configure_mesh().x_desc("contending clients (N)").y_desc(unit).draw()?;
    for ((strategy, row), colour) in strategies.iter().zip(grid).zip(COLOURS) {
        let points = clients.iter().zip(row).map(|(&n, mean)| (n as f64, value(mean).max(1.0)));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(strategy.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

#[allow(clippy::cast_precision_loss, reason = "bucket indices are small")]
fn outage_chart(path: &Path, strategies: &[Strategy], runs: &[OutageRun]) -> Result<(), Box<dyn Error>> {
    let bucket_ms = BUCKET.as_secs_f64() * 1000.0;
    // Five seconds: the outage and the recovery of every jittered strategy.
    let buckets = 500;
    let top = runs.iter().flat_map(|run| run.load.iter().skip(1)).copied().max().unwrap_or(1);
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Outage: {} clients, {} s down, then {} calls per 10 ms admitted",
                OUTAGE.clients,
                OUTAGE.outage.as_secs(),
                OUTAGE.admitted_per_bucket
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..(buckets as f64 * bucket_ms), (1.0..f64::from(top) * 1.5).log_scale())?;
    chart.configure_mesh().x_desc("time (ms)").y_desc("calls per 10 ms").draw()?;
    for ((strategy, run), colour) in strategies.iter().zip(runs).zip(COLOURS) {
        // Buckets without calls are drawn at 1 on the log scale; the burst at t = 0 is skipped.
        let points =
            (1..buckets).map(|b| (b as f64 * bucket_ms, f64::from(run.load.get(b).copied().unwrap_or(0)).max(1.0)));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(1)))?
            .label(strategy.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}
