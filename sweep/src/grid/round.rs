//! A range's values rounded to [`RANGE_DIGITS`] significant digits, so
//! that a grid expands to the same values (and run ids) whatever the
//! platform's `pow`: each value's decimal text at that precision, read
//! back, or the same bits by arithmetic where that is provably so (a range
//! may have 10^6 values).

use std::fmt;

/// Significant digits a range's values are rounded to.
pub(crate) const RANGE_DIGITS: usize = 12;

/// `x` rounded to [`RANGE_DIGITS`] significant digits: its decimal text at
/// that precision, read back. Computed without the text where that gives
/// the same bits ([`round_exactly_scaled`]), which is almost always.
pub(crate) fn round(x: f64) -> f64 {
    round_exactly_scaled(x).unwrap_or_else(|| round_by_text(x))
}

/// [`round`] through the text (on the stack: a range may have 10^6 values).
fn round_by_text(x: f64) -> f64 {
    let mut text = Digits::default();
    fmt::Write::write_fmt(
        &mut text,
        format_args!("{x:.prec$e}", prec = RANGE_DIGITS - 1),
    )
    .expect("a float's text fits");
    std::str::from_utf8(&text.bytes[..text.len])
        .expect("a float's text is ASCII")
        .parse()
        .expect("a formatted float parses")
}

/// [`round`] by arithmetic, where it is provably the text's result: x
/// scaled by an exact power of ten so its significant digits are the
/// integer part (one correctly rounded product, off by at most 2^-53
/// relative, i.e. 1.2e-4 at 10^12), that integer N taken unless the scaled
/// value lies within 10^-3 of a rounding tie, and N scaled back. N < 2^53
/// and the power exact (10^22 at most) make the last step one correctly
/// rounded operation: exactly what parsing N's digits with that exponent
/// gives (Clinger's fast path). `None` where any of this does not hold.
fn round_exactly_scaled(x: f64) -> Option<f64> {
    // The powers of ten a double holds exactly.
    const POWERS: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    if !x.is_finite() || x == 0.0 {
        return None;
    }
    let digits = RANGE_DIGITS as i32;
    // The power of ten that puts x's first digit at 10^(digits - 1); the
    // logarithm may be off by one next to a power of ten, caught below.
    let k = digits - 1 - x.abs().log10().floor() as i32;
    let power = *POWERS.get(k.unsigned_abs() as usize)?;
    let scaled = if k >= 0 {
        x.abs() * power
    } else {
        x.abs() / power
    };
    let n = scaled.round();
    let lowest = POWERS[RANGE_DIGITS - 1];
    let near_tie = ((scaled - scaled.trunc()) - 0.5).abs() < 1e-3;
    if near_tie || n < lowest || n > 10.0 * lowest {
        return None;
    }
    let rounded = if k >= 0 { n / power } else { n * power };
    Some(rounded.copysign(x))
}

/// Room for a float's text in exponent form at [`RANGE_DIGITS`] digits
/// (`-d.ddddddddddde-308`).
#[derive(Default)]
struct Digits {
    bytes: [u8; 32],
    len: usize,
}

impl fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    /// Where the arithmetic answers, it gives the text's bits.
    fn agrees(x: f64) -> bool {
        round_exactly_scaled(x).is_none_or(|r| r.to_bits() == round_by_text(x).to_bits())
    }

    #[test]
    fn rounding_by_arithmetic_gives_the_texts_bits() {
        // Every value of a 10^6-point log range and of a linear one, as
        // `Range::values` computes them before rounding.
        let (lo, hi, num) = (1e-6f64.log10(), 1e-1f64.log10(), 1_000_000);
        let log: Vec<f64> = (0..num)
            .map(|i| 10f64.powf(lo + (hi - lo) * i as f64 / (num - 1) as f64))
            .collect();
        let linear: Vec<f64> = (0..num)
            .map(|i| -3.0 + 7.5 * i as f64 / (num - 1) as f64)
            .collect();
        for xs in [&log, &linear] {
            assert!(xs.par_iter().all(|&x| agrees(x)));
            // …and answers nearly always (else it would not pay).
            let answered = xs.iter().filter(|&&x| round_exactly_scaled(x).is_some());
            assert!(answered.count() > num * 99 / 100);
        }
        // Doubles of every magnitude a double has, of both signs.
        let mut state = 0x853c_49e6_748f_ea9b_u64;
        let random = (0..200_000).map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            f64::from_bits(state)
        });
        assert!(random.filter(|x| x.is_finite()).all(agrees));
        // Decimal ties at the 13th digit and values already at 12 digits,
        // next to powers of ten where the logarithm's floor may be off.
        for e in -30..30 {
            for text in [
                "1.234567890125",
                "9.999999999995",
                "1.000000000005",
                "9.99999999999",
            ] {
                let x: f64 = format!("{text}e{e}").parse().unwrap();
                for y in [x, -x, x.next_up(), x.next_down()] {
                    assert!(agrees(y), "{y:e}");
                }
            }
            let p = 10f64.powi(e);
            assert!([p, p.next_up(), p.next_down()].into_iter().all(agrees));
        }
    }
}
