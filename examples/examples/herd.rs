//! The thundering herd, simulated: why retries need jitter, and a budget.
//!
//! Reproduces the model of the AWS Architecture Blog study "Exponential
//! Backoff and Jitter" (2015) with the runtime's own delay schedule (see
//! the `retry-sim` crate), prints the tables, and writes SVG charts to
//! `docs/img/`:
//!
//! - `herd-work.svg`, `herd-time.svg`: writes and completion time against the
//!   number of contending clients, per strategy (100 trials per point);
//! - `herd-outage.svg`: attempts per 10 ms during and after an outage;
//! - `herd-outage-budget.svg`: the same outage, every client's retries paid
//!   from one shared `RetryBudget`;
//! - `hedging-latency.svg`: the tail-latency scenario ("The Tail at Scale"):
//!   the share of calls slower than each completion time, without hedging,
//!   hedging at the p95 and at the p50, with and without a retry budget.
//!
//! Run it with `cargo run --release -p examples --example herd`. The tables
//! (standard output) are the same on every run; the time the grid and the
//! tail-latency runs took goes to standard error.

use std::error::Error;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use plotters::prelude::*;
use retry_runtime::RetryBudget;
use retry_sim::{BUCKET, Hedge, LatencyTable, Mean, Outage, OutageRun, Strategy, TailLatency, contention_mean};

const TRIALS: u32 = 100;
const SEED: u64 = 2015;

/// The outage scenario of the charts and the table.
const OUTAGE: Outage = Outage {
    clients: 1000,
    outage: Duration::from_secs(1),
    admitted_per_bucket: 10,
    round_trip: Duration::from_millis(20),
};

/// The budget every client shares in the budgeted runs: the defaults
/// (capacity 100, ratio 0.1, 10 retries per second whatever the balance).
const fn budget() -> RetryBudget {
    RetryBudget::new()
}

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

    let started = Instant::now();
    // One thread per strategy. Every trial has its own seed, so the numbers
    // do not depend on the threads or their timing.
    let grid: Vec<Vec<Mean>> = std::thread::scope(|scope| {
        let rows: Vec<_> = strategies
            .iter()
            .map(|strategy| {
                let clients = &clients;
                scope.spawn(move || clients.iter().map(|&n| contention_mean(strategy, n, TRIALS, SEED)).collect())
            })
            .collect();
        rows.into_iter().map(std::thread::ScopedJoinHandle::join).collect::<Result<_, _>>()
    })
    .map_err(|_| "a simulation thread panicked")?;
    eprintln!(
        "Contention grid ({} strategies × {} values of N × {TRIALS} trials, {} threads) took {:.0} ms",
        strategies.len(),
        clients.len(),
        strategies.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    println!("Contention ({TRIALS} trials per point): writes (mean)");
    print_table(&clients, &strategies, &grid, |mean| format!("{:.0}", mean.calls));
    println!("\nContention: completion time in ms (mean)");
    print_table(&clients, &strategies, &grid, |mean| format!("{:.0}", mean.completion_ms));

    let runs: Vec<OutageRun> = strategies.iter().map(|strategy| OUTAGE.run(strategy, SEED)).collect();
    let budgeted: Vec<OutageRun> =
        strategies.iter().map(|strategy| OUTAGE.run_with_budget(strategy, SEED, &budget())).collect();
    println!(
        "\nOutage: {} clients fail at 0, everything rejected for {:?}, then {} calls admitted per 10 ms",
        OUTAGE.clients, OUTAGE.outage, OUTAGE.admitted_per_bucket
    );
    let shared = budget();
    println!(
        "With a budget: one RetryBudget shared by all clients (capacity {}, ratio {}, floor {} retries per second)",
        shared.max_tokens(),
        shared.tokens_per_call(),
        shared.floor_per_second()
    );
    print_outage_table(&strategies, &runs, &budgeted);

    let started = Instant::now();
    let latency = latency_table();
    eprintln!(
        "Tail-latency runs ({} strategies × {} calls) took {:.0} ms",
        latency.rows.len(),
        TailLatency::PAPER.calls,
        started.elapsed().as_secs_f64() * 1000.0
    );
    println!(
        "\nTail latency: {} calls, one per {:?}; each copy takes ~{:?} ({:.0} %) or ~{:?} ({:.0} %)",
        TailLatency::PAPER.calls,
        TailLatency::PAPER.interval,
        TailLatency::PAPER.fast,
        (1.0 - TailLatency::PAPER.slow_share) * 100.0,
        TailLatency::PAPER.slow,
        TailLatency::PAPER.slow_share * 100.0
    );
    println!("Hedge delays are the no-hedging p95 and p50; the budget is RetryBudget::new(), shared by all calls");
    print!("{latency}");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/img");
    std::fs::create_dir_all(&dir)?;
    let work = "Work: writes until every client succeeded";
    grid_chart(&dir.join("herd-work.svg"), work, "writes", &strategies, &clients, &grid, |mean| mean.calls)?;
    let time = "Completion time (ms)";
    grid_chart(&dir.join("herd-time.svg"), time, "ms", &strategies, &clients, &grid, |mean| mean.completion_ms)?;
    // One scale for both outage charts, so they compare at a glance.
    let top = runs.iter().chain(&budgeted).flat_map(|run| run.load.iter().skip(1)).copied().max().unwrap_or(1);
    let title = format!(
        "Outage: {} clients, {} s down, then {} calls per 10 ms admitted",
        OUTAGE.clients,
        OUTAGE.outage.as_secs(),
        OUTAGE.admitted_per_bucket
    );
    outage_chart(&dir.join("herd-outage.svg"), &title, &strategies, &runs, top)?;
    let title = "The same outage, every retry paid from one shared RetryBudget";
    outage_chart(&dir.join("herd-outage-budget.svg"), title, &strategies, &budgeted, top)?;
    latency_chart(&dir.join("hedging-latency.svg"), &latency)?;
    println!("\nCharts written to {}", display(&dir).display());
    Ok(())
}

/// The tail-latency scenario's strategies, run on the same draws: no
/// hedging, hedging at its p95 (one extra copy, then up to two), with a
/// shared budget, and hedging early (at the p50) with and without one.
fn latency_table() -> LatencyTable {
    let server = TailLatency::PAPER;
    let plain = server.run(Hedge::NONE, SEED);
    let (p95, p50) = (plain.percentile(95.0), plain.percentile(50.0));
    let at = |name: &str, percentile: &str, delay: Duration| {
        format!("{name} at p{percentile} ({:.1} ms)", delay.as_secs_f64() * 1000.0)
    };
    let rows = vec![
        ("no hedging".to_owned(), plain),
        (at("hedge", "95", p95), server.run(Hedge::after(p95), SEED)),
        (at("hedge", "95", p95) + ", 3 copies", server.run(Hedge::after(p95).max_attempts(3), SEED)),
        (at("hedge", "95", p95) + ", budget", server.run_with_budget(Hedge::after(p95), SEED, &budget())),
        (at("hedge", "50", p50), server.run(Hedge::after(p50), SEED)),
        (at("hedge", "50", p50) + ", budget", server.run_with_budget(Hedge::after(p50), SEED, &budget())),
    ];
    LatencyTable { rows }
}

/// The tail of each run's completion times on log–log axes: for each time,
/// the share of calls that took longer. Hedging pulls the curve's knee in.
fn latency_chart(path: &Path, table: &LatencyTable) -> Result<(), Box<dyn Error>> {
    // From every call (100 %) down to one in 100 000, 40 points per decade.
    let tail_shares: Vec<f64> = (0..=200).map(|i| 100.0 * 10f64.powf(-f64::from(i) / 40.0)).collect();
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Tail latency: 4 % of copies take ~500 ms instead of ~10 ms", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1.0..2000.0).log_scale(), (0.001..100.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("completion time (ms)")
        .y_desc("calls slower than that (%)")
        .y_label_formatter(&|share| format!("{share}"))
        .draw()?;
    for (index, ((name, run), colour)) in table.rows.iter().zip(COLOURS).enumerate() {
        let points: Vec<(f64, f64)> =
            tail_shares.iter().map(|&share| (ms(run.percentile(100.0 - share)).max(1.0), share)).collect();
        // Hedging at the p95 with and without the budget coincide (nothing is
        // refused): the first is drawn wide, so it shows around the other.
        let width = if index == 1 { 4 } else { 2 };
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(width)))?
            .label(name.as_str())
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

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
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

fn print_outage_table(strategies: &[Strategy], runs: &[OutageRun], budgeted: &[OutageRun]) {
    println!(
        "{:<14} {:>6} {:>9} {:>8} {:>8} {:>8} {:>16} {:>14}",
        "strategy", "budget", "attempts", "clients", "× calls", "gave up", "peak/10ms after", "all done (ms)"
    );
    for (strategy, pair) in strategies.iter().zip(runs.iter().zip(budgeted)) {
        for (label, run) in [("no", pair.0), ("yes", pair.1)] {
            println!(
                "{:<14} {:>6} {:>9} {:>8} {:>8.2} {:>8} {:>16} {:>14}",
                strategy.name,
                label,
                run.attempts,
                run.clients,
                run.amplification(),
                run.gave_up,
                run.peak_after_recovery,
                run.completion.as_millis()
            );
        }
    }
}

/// One line of a chart, as its legend names it.
struct Line<'a> {
    name: &'a str,
    colour: RGBColor,
    width: u32,
    points: Vec<(f64, f64)>,
}

/// Draws `lines` on a chart with a log-scaled y axis from 1 to `top`, with
/// their legend, and writes it to `path`. Values below 1 are drawn at 1.
fn plot(
    path: &Path,
    caption: &str,
    (x_range, x_desc): (Range<f64>, &str),
    (top, y_desc): (f64, &str),
    lines: Vec<Line<'_>>,
    legend_at: SeriesLabelPosition,
) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, (1.0..top.max(2.0)).log_scale())?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw()?;
    for Line { name, colour, width, points } in lines {
        let points = points.into_iter().map(|(x, y)| (x, y.max(1.0)));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(width)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).position(legend_at).draw()?;
    root.present()?;
    Ok(())
}

#[allow(clippy::cast_precision_loss, reason = "client counts are small")]
fn grid_chart(
    path: &Path,
    title: &str,
    unit: &str,
    strategies: &[Strategy],
    clients: &[usize],
    grid: &[Vec<Mean>],
    value: impl Fn(&Mean) -> f64,
) -> Result<(), Box<dyn Error>> {
    let top = grid.iter().flatten().map(&value).fold(0.0_f64, f64::max) * 1.05;
    let lines = strategies
        .iter()
        .zip(grid)
        .zip(COLOURS)
        .map(|((strategy, row), colour)| Line {
            name: strategy.name,
            colour,
            width: 2,
            points: clients.iter().zip(row).map(|(&n, mean)| (n as f64, value(mean))).collect(),
        })
        .collect();
    let x_range = 0.0..(clients.last().copied().unwrap_or(100) as f64 + 5.0);
    plot(path, title, (x_range, "contending clients (N)"), (top, unit), lines, SeriesLabelPosition::UpperLeft)
}

#[allow(clippy::cast_precision_loss, reason = "bucket indices are small")]
fn outage_chart(
    path: &Path,
    title: &str,
    strategies: &[Strategy],
    runs: &[OutageRun],
    top: u32,
) -> Result<(), Box<dyn Error>> {
    let bucket_ms = BUCKET.as_secs_f64() * 1000.0;
    // Five seconds: the outage and the recovery of every jittered strategy.
    let buckets = 500;
    let lines = strategies
        .iter()
        .zip(runs)
        .zip(COLOURS)
        .map(|((strategy, run), colour)| Line {
            name: strategy.name,
            colour,
            width: 1,
            // Buckets without attempts are drawn at 1 on the log scale; the burst at t = 0 is skipped.
            points: (1..buckets)
                .map(|b| (b as f64 * bucket_ms, f64::from(run.load.get(b).copied().unwrap_or(0))))
                .collect(),
        })
        .collect();
    let x_range = 0.0..(buckets as f64 * bucket_ms);
    plot(
        path,
        title,
        (x_range, "time (ms)"),
        (f64::from(top) * 1.5, "attempts per 10 ms"),
        lines,
        SeriesLabelPosition::UpperRight,
    )
}
