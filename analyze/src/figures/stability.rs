//! [W22] linear stability of SGD at the end of training, over an (η, B)
//! grid. Left: ‖H‖_F against √B/η, log–log, with the constant C of
//! ‖H‖_F = C·√B/η fitted at slope 1 ([W22]: a linearly stable minimum has
//! ‖H‖_F ≤ O(√B/η), a bound, not a law: where ‖H‖_F barely moves across the
//! grid the free log–log slope, shown beside it, is near 0) and the largest
//! ‖H‖_F·η/√B. Right: tr H and λ_max(H) against 2/η with the line y = 2/η
//! (λ_max ≤ 2/η is GD's classical condition, for every B; tr H ≤ 2/η is
//! Wu & Su 2023's bound at B = 1, which for a batch of B only guarantees
//! tr H of order 2B/η), with the largest λ_max·η/2 (1 at the edge of
//! stability) and tr H·η/(2B).
//! Every finished run with a recorded Hessian (`hessian = true`), coloured
//! by its batch size B; hollow markers are runs with label noise.

use super::data::FigureData;
use super::figure::{Figure, FigureOutcome, skipped};
use super::plot::{self, Drawn, Lines, Plot, log_range, ordered_colour};
use crate::analysis::Analysis;
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub const FIGURE: Figure = Figure {
    stem: "stability",
    title: "[W22] linear stability: Hessian norms at the end of SGD against √B/η and 2/η",
    cells: None,
    make,
};

/// One finished run's end point.
struct End {
    /// The run's grid cell.
    cell: usize,
    eta: f64,
    batch: f64,
    noisy: bool,
    fro: f64,
    trace: f64,
    lambda_max: f64,
}

/// Where an end point goes on one axis.
type Coordinate = fn(&End) -> f64;

struct Stability {
    ends: Vec<End>,
    /// Runs with a recorded Hessian that diverged (not drawn).
    diverged: usize,
    /// Distinct batch sizes, ascending (the colours).
    batches: Vec<f64>,
    /// C of ‖H‖_F = C·√B/η, and the largest ‖H‖_F·η/√B.
    fit: f64,
    max: f64,
    /// The free least-squares line through (log10 √B/η, log10 ‖H‖_F):
    /// (slope, intercept); `None` with a single √B/η.
    free: Option<(f64, f64)>,
    /// The largest λ_max·η/2 and tr H·η/(2B).
    edge: f64,
    trace_b: f64,
}

/// The least-squares constant C of y = C·x on log–log axes (slope fixed at
/// 1): the geometric mean of y/x. `None` without a positive pair.
pub fn fit_constant(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<f64> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0 && x.is_finite() && y.is_finite())
        .map(|(x, y)| (y / x).ln())
        .collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

fn make(a: &Analysis, dir: &Path) -> Result<FigureOutcome> {
    let ends: Vec<End> = a
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == "finished" && r.last.hessian_fro.is_finite())
        .filter_map(|(i, r)| {
            Some(End {
                cell: a.grid.run_cell[i],
                eta: r.number("eta").filter(|e| *e > 0.0)?,
                batch: r.number("batch_size").or_else(|| r.number("n"))?,
                noisy: r.number("sigma").is_some_and(|s| s > 0.0),
                fro: r.last.hessian_fro,
                trace: r.last.trace_hessian,
                lambda_max: r.last.hessian_lambda_max,
            })
        })
        .collect();
    let ratios: Vec<(f64, f64)> = ends
        .iter()
        .map(|e| (e.batch.sqrt() / e.eta, e.fro))
        .collect();
    let Some(fit) = fit_constant(&ratios) else {
        return skipped(
            "no finished run with a recorded Hessian (the [W22] experiment: hessian = true)",
        );
    };
    let max = ratios.iter().map(|(x, y)| y / x).fold(0.0, f64::max);
    let logs: Vec<(f64, f64)> = ratios
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.log10(), y.log10()))
        .collect();
    let free = super::convergence::fit_line(&logs);
    let largest = |f: fn(&End) -> f64| {
        ends.iter()
            .map(f)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    };
    let edge = largest(|e| e.lambda_max * e.eta / 2.0);
    let trace_b = largest(|e| e.trace * e.eta / (2.0 * e.batch));
    let mut batches: Vec<f64> = ends.iter().map(|e| e.batch).collect();
    batches.sort_by(f64::total_cmp);
    batches.dedup();
    let diverged = a
        .runs
        .iter()
        .filter(|r| r.diverged() && r.value("hessian") == Some(&serde_json::Value::Bool(true)))
        .count();
    let n = ends.len();
    let plot = Stability {
        ends,
        diverged,
        batches,
        fit,
        max,
        free,
        edge,
        trace_b,
    };
    let slope = free.map_or_else(
        || "undefined (one value of √B/η)".into(),
        |(s, _)| format!("{s:.2}"),
    );
    FIGURE.drawn(
        &plot,
        plot.data(a),
        dir,
        format!(
            "{n} finished runs with the exact Hessian at their last step ({diverged} diverged \
             and are left out), coloured by batch size B; hollow markers had label noise. Left: \
             ‖H‖_F against √B/η. [W22]'s ‖H‖_F ≤ O(√B/η) is a bound: the free log–log slope of \
             the runs is {slope}; at slope 1 the fitted constant of ‖H‖_F = C·√B/η (least \
             squares on the log–log axes) is C = {fit:.3}, and every run has ‖H‖_F·η/√B ≤ \
             {max:.3}. Right: tr H (circles) and λ_max(H) (triangles) against 2/η, with y = 2/η: \
             λ_max ≤ 2/η is GD's condition for every B (largest λ_max·η/2 = {edge:.3}; 1 is the \
             edge of stability); tr H ≤ 2/η is the bound at B = 1 only, a batch of B \
             guaranteeing tr H of order 2B/η (largest tr H·η/(2B) = {trace_b:.3})."
        ),
    )
}

impl Stability {
    /// The panels' titles.
    fn titles(&self) -> [String; 2] {
        let slope = self.free.map_or("–".into(), |(s, _)| format!("{s:.2}"));
        [
            format!(
                "‖H‖_F against √B/η: free slope {slope}, C = {:.3} at slope 1, \
                 largest ‖H‖_F·η/√B = {:.3}",
                self.fit, self.max
            ),
            format!(
                "tr H and λ_max(H) against 2/η: largest λ_max·η/2 = {:.3}, tr H·η/(2B) = {:.3}",
                self.edge, self.trace_b
            ),
        ]
    }

    /// The free fit at `x` (√B/η), if there is one.
    fn free_line(&self, x: f64) -> Option<f64> {
        let (slope, icept) = self.free?;
        Some(10f64.powf(slope * x.log10() + icept))
    }

    /// What each panel says of the runs: how many are drawn, how many
    /// diverged.
    fn count(&self) -> String {
        format!(
            "{} finished runs, {} diverged (not drawn)",
            self.ends.len(),
            self.diverged
        )
    }

    /// The points and lines drawn, as [`FigureData`].
    fn data<'a>(&self, a: &'a Analysis) -> FigureData<'a> {
        let mut data = FigureData::new(a);
        let [left, right] = self.titles();
        for e in &self.ends {
            let series = |what: &str| format!("{what}B = {}", e.batch);
            let over_b = e.batch.sqrt() / e.eta;
            data.point(&[e.cell], (&left, &series("")), (over_b, e.fro), 1);
            for (what, y) in [("tr H, ", e.trace), ("λ_max, ", e.lambda_max)] {
                data.point(&[e.cell], (&right, &series(what)), (2.0 / e.eta, y), 1);
            }
        }
        let cells: Vec<usize> = self.ends.iter().map(|e| e.cell).collect();
        let x = log_range(self.ends.iter().map(|e| e.batch.sqrt() / e.eta));
        for v in [x.start, x.end] {
            data.point(
                &cells,
                (&left, "fit at slope 1"),
                (v, self.fit * v),
                self.ends.len(),
            );
            if let Some(y) = self.free_line(v) {
                data.point(&cells, (&left, "free fit"), (v, y), self.ends.len());
            }
        }
        data
    }

    fn colour(&self, e: &End) -> RGBColor {
        let i = self.batches.iter().position(|b| *b == e.batch).unwrap_or(0);
        ordered_colour(i, self.batches.len())
    }

    fn style(&self, e: &End) -> ShapeStyle {
        let c = self.colour(e);
        if e.noisy {
            c.stroke_width(2)
        } else {
            c.filled()
        }
    }

    /// One legend entry per batch size (drawn as an empty series).
    fn batch_legend<DB: DrawingBackend, X, Y>(
        &self,
        chart: &mut plot::Chart<'_, DB, X, Y>,
    ) -> Drawn<DB>
    where
        X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
        Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    {
        for (i, b) in self.batches.iter().enumerate() {
            let c = ordered_colour(i, self.batches.len());
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(format!("B = {b}"))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
        }
        Ok(())
    }
}

impl Plot for Stability {
    fn size(&self) -> (u32, u32) {
        (1400, 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let titles = self.titles();
        let areas = plot::panels(root, FIGURE.title, (1, 2), |_, c| {
            vec![titles[c].clone(), self.count()]
        })?;
        // Each end point at (x(e), y(e)), in its run's style.
        let at = |x: Coordinate, y: Coordinate| {
            self.ends.iter().map(move |e| ((x(e), y(e)), self.style(e)))
        };
        let over_b: Coordinate = |e| e.batch.sqrt() / e.eta;
        let over_eta: Coordinate = |e| 2.0 / e.eta;

        // ‖H‖_F against √B/η with the fitted line.
        let x = log_range(self.ends.iter().map(over_b));
        let fitted = [x.start, x.end].map(|v| (v, self.fit * v));
        let free: Vec<(f64, f64)> = [x.start, x.end]
            .into_iter()
            .filter_map(|v| Some((v, self.free_line(v)?)))
            .collect();
        let lines = fitted.iter().chain(&free).map(|p| p.1);
        let y = log_range(self.ends.iter().map(|e| e.fro).chain(lines));
        let mut chart = plot::log_log(&areas[0].2, x, y, ("√B/η", "‖H‖_F"))?;
        chart.draw_series(at(over_b, |e| e.fro).map(|(p, s)| Circle::new(p, 5, s)))?;
        let fit = format!("‖H‖_F = {:.3}·√B/η (fit at slope 1)", self.fit);
        chart.line(fitted, plot::RED, &fit)?;
        if let Some((slope, _)) = self.free {
            let label = format!("free fit: slope {slope:.2}");
            chart.line(free, RGBColor(90, 90, 90), &label)?;
        }
        self.batch_legend(&mut chart)?;
        plot::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;

        // tr H and λ_max against 2/η with y = 2/η.
        let x = log_range(self.ends.iter().map(over_eta));
        let ends = self.ends.iter().flat_map(|e| [e.trace, e.lambda_max]);
        let y = log_range(ends.chain([x.start, x.end]));
        let diagonal = [x.start, x.end].map(|v| (v, v));
        let mut chart = plot::log_log(&areas[1].2, x, y, ("2/η", "tr H, λ_max(H)"))?;
        chart.draw_series(at(over_eta, |e| e.trace).map(|(p, s)| Circle::new(p, 5, s)))?;
        let lambda = at(over_eta, |e| e.lambda_max);
        chart.draw_series(lambda.map(|(p, s)| TriangleMarker::new(p, 7, s)))?;
        chart.line(diagonal, plot::RED, "y = 2/η")?;
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("tr H")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, BLACK.filled()));
        chart
            .draw_series(std::iter::empty::<TriangleMarker<(f64, f64), i32>>())?
            .label("λ_max(H)")
            .legend(|(x, y)| TriangleMarker::new((x + 8, y), 7, BLACK.filled()));
        plot::legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

#[cfg(test)]
mod tests {
    use super::fit_constant;

    #[test]
    fn the_stability_constant_is_the_geometric_mean_of_frobenius_times_eta_over_sqrt_b() {
        // (√B/η, ‖H‖_F) with ratios 2, 8 and 0.5: C = (2·8·0.5)^(1/3) = 2.
        let points = [(10.0, 20.0), (40.0, 320.0), (100.0, 50.0)];
        let c = fit_constant(&points).unwrap();
        assert!((c - 2.0).abs() < 1e-12, "{c}");
        // On an exact line the fit returns its constant; no positive point, no fit.
        let line: Vec<(f64, f64)> = [1.0, 3.0, 30.0].iter().map(|x| (*x, 0.7 * x)).collect();
        assert!((fit_constant(&line).unwrap() - 0.7).abs() < 1e-12);
        assert_eq!(fit_constant(&[(0.0, 1.0), (1.0, -1.0)]), None);
    }
}
