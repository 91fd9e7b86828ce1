//! [`StopWhen`]: a run's stop criterion, a condition on its recorded
//! metrics such as `sv_ratio2_z < 1e-3` or
//! `loss < 1e-20 or riem_grad_norm < 1e-12` (grid key `stop_when`, flag
//! `--stop-when`). Comparisons `<`, `<=`, `>`, `>=` of a metric with a
//! number, joined by `and` (which binds tighter) and `or`, with
//! parentheses. It is parsed once, when the configuration is read, and
//! stored and hashed in its canonical spelling, so two spellings of one
//! condition are one run.
//!
//! A metric that is not defined at a record (NaN) satisfies no comparison.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A stop criterion, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct StopWhen(Expr);

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Compare(Metric, Op, f64),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Less,
    LessEq,
    Greater,
    GreaterEq,
}

/// The scalar metrics of a record, by their Parquet column names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Loss,
    TraceHessian,
    SharpnessR,
    RiemGradNorm,
    DistToOptimum,
    SvRatio2Z,
    SvRatio3Z,
    SvRatio2Phi,
    SvRatio3Phi,
    EffectiveRankZ,
    NeuronSpread,
    NeuronClusters,
    HessianFro,
    HessianLambdaMax,
    Time,
    NormalizedMargin,
    SvmMargin,
    MarginRatio,
    MarginAngle,
}

impl Metric {
    pub const ALL: [Metric; 19] = [
        Self::Loss,
        Self::TraceHessian,
        Self::SharpnessR,
        Self::RiemGradNorm,
        Self::DistToOptimum,
        Self::SvRatio2Z,
        Self::SvRatio3Z,
        Self::SvRatio2Phi,
        Self::SvRatio3Phi,
        Self::EffectiveRankZ,
        Self::NeuronSpread,
        Self::NeuronClusters,
        Self::HessianFro,
        Self::HessianLambdaMax,
        Self::Time,
        Self::NormalizedMargin,
        Self::SvmMargin,
        Self::MarginRatio,
        Self::MarginAngle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loss => "loss",
            Self::TraceHessian => "trace_hessian",
            Self::SharpnessR => "sharpness_r",
            Self::RiemGradNorm => "riem_grad_norm",
            Self::DistToOptimum => "dist_to_optimum",
            Self::SvRatio2Z => "sv_ratio2_z",
            Self::SvRatio3Z => "sv_ratio3_z",
            Self::SvRatio2Phi => "sv_ratio2_phi",
            Self::SvRatio3Phi => "sv_ratio3_phi",
            Self::EffectiveRankZ => "effective_rank_z",
            Self::NeuronSpread => "neuron_spread",
            Self::NeuronClusters => "neuron_clusters",
            Self::HessianFro => "hessian_fro",
            Self::HessianLambdaMax => "hessian_lambda_max",
            Self::Time => "time",
            Self::NormalizedMargin => "normalized_margin",
            Self::SvmMargin => "svm_margin",
            Self::MarginRatio => "margin_ratio",
            Self::MarginAngle => "margin_angle",
        }
    }
}

impl StopWhen {
    /// Whether the condition holds where each metric has the value
    /// `value` gives ([`Metrics::value`](crate::metrics::Metrics::value)
    /// at a record).
    pub fn holds(&self, value: &impl Fn(Metric) -> f64) -> bool {
        self.0.holds(value)
    }

    /// The metrics it reads, in order of appearance.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        self.0.metrics(&mut out);
        out
    }
}

impl Expr {
    fn holds(&self, value: &impl Fn(Metric) -> f64) -> bool {
        match self {
            Self::Compare(m, op, x) => {
                let v = value(*m);
                match op {
                    Op::Less => v < *x,
                    Op::LessEq => v <= *x,
                    Op::Greater => v > *x,
                    Op::GreaterEq => v >= *x,
                }
            }
            Self::And(a, b) => a.holds(value) && b.holds(value),
            Self::Or(a, b) => a.holds(value) || b.holds(value),
        }
    }

    fn metrics(&self, out: &mut Vec<Metric>) {
        match self {
            Self::Compare(m, ..) => out.push(*m),
            Self::And(a, b) | Self::Or(a, b) => {
                a.metrics(out);
                b.metrics(out);
            }
        }
    }
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Less => "<",
            Self::LessEq => "<=",
            Self::Greater => ">",
            Self::GreaterEq => ">=",
        }
    }
}

/// The canonical spelling: single spaces, numbers in shortest exponent
/// form, parentheses only where `or` sits inside `and`.
impl fmt::Display for StopWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operand = |e: &Expr, f: &mut fmt::Formatter<'_>| match e {
            Self::Or(..) => write!(f, "({e})"),
            _ => write!(f, "{e}"),
        };
        match self {
            Self::Compare(m, op, x) => write!(f, "{} {} {x:e}", m.as_str(), op.as_str()),
            Self::And(a, b) => {
                operand(a, f)?;
                f.write_str(" and ")?;
                operand(b, f)
            }
            Self::Or(a, b) => write!(f, "{a} or {b}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    Op(Op),
    Open,
    Close,
}

fn tokens(s: &str) -> Result<Vec<Token>, CoreError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            chars.next();
            out.push(if c == '(' { Token::Open } else { Token::Close });
        } else if c == '<' || c == '>' {
            chars.next();
            let eq = chars.next_if(|&(_, c)| c == '=').is_some();
            out.push(Token::Op(match (c, eq) {
                ('<', false) => Op::Less,
                ('<', true) => Op::LessEq,
                ('>', false) => Op::Greater,
                _ => Op::GreaterEq,
            }));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some((_, c)) = chars.next_if(|&(_, c)| c.is_ascii_alphanumeric() || c == '_')
            {
                word.push(c);
            }
            out.push(Token::Word(word));
        } else if c.is_ascii_digit() || c == '.' || c == '-' || c == '+' {
            // A number: digits, a point, an exponent with its sign.
            let mut text = String::new();
            while let Some(&(_, c)) = chars.peek() {
                let sign =
                    (c == '-' || c == '+') && (text.is_empty() || text.ends_with(['e', 'E']));
                if !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '_') || sign) {
                    break;
                }
                text.push(c);
                chars.next();
            }
            let x: f64 = text
                .replace('_', "")
                .parse()
                .map_err(|_| CoreError::Parse(format!("'{text}' is not a number")))?;
            if !x.is_finite() {
                return Err(CoreError::Parse(format!("'{text}' is not a finite number")));
            }
            out.push(Token::Number(x));
        } else {
            return Err(CoreError::Parse(format!(
                "unexpected '{c}' at character {}",
                i + 1
            )));
        }
    }
    Ok(out)
}

/// Recursive descent over the tokens: `or` of `and`s of comparisons or
/// parenthesised conditions.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Word(w)) if w == word);
        self.at += usize::from(found);
        found
    }

    fn or(&mut self) -> Result<Expr, CoreError> {
        let mut e = self.and()?;
        while self.keyword("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, CoreError> {
        let mut e = self.operand()?;
        while self.keyword("and") {
            e = Expr::And(Box::new(e), Box::new(self.operand()?));
        }
        Ok(e)
    }

    fn operand(&mut self) -> Result<Expr, CoreError> {
        match self.next() {
            Some(Token::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(e),
                    _ => Err(CoreError::Parse("missing ')'".into())),
                }
            }
            Some(Token::Word(w)) => {
                let metric = metric(&w)?;
                let Some(Token::Op(op)) = self.next() else {
                    return Err(CoreError::Parse(format!(
                        "expected <, <=, > or >= after '{w}'"
                    )));
                };
                let Some(Token::Number(x)) = self.next() else {
                    return Err(CoreError::Parse(format!(
                        "expected a number after '{w} {}'",
                        op.as_str()
                    )));
                };
                Ok(Expr::Compare(metric, op, x))
            }
            Some(t) => Err(CoreError::Parse(format!(
                "expected a metric name, got {}",
                describe(&t)
            ))),
            None => Err(CoreError::Parse(
                "expected a metric name, got the end".into(),
            )),
        }
    }
}

fn metric(name: &str) -> Result<Metric, CoreError> {
    Metric::ALL
        .into_iter()
        .find(|m| m.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<_> = Metric::ALL.iter().map(|m| m.as_str()).collect();
            CoreError::Parse(format!(
                "unknown metric '{name}' (expected one of {})",
                names.join(", ")
            ))
        })
}

fn describe(t: &Token) -> String {
    match t {
        Token::Word(w) => format!("'{w}'"),
        Token::Number(x) => format!("the number {x}"),
        Token::Op(op) => format!("'{}'", op.as_str()),
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
    }
}

impl FromStr for StopWhen {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let mut p = Parser {
            tokens: tokens(s)?,
            at: 0,
        };
        let e = p.or()?;
        match p.peek() {
            None => Ok(Self(e)),
            Some(t) => Err(CoreError::Parse(format!(
                "unexpected {} after a complete condition",
                describe(t)
            ))),
        }
    }
}

impl Serialize for StopWhen {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StopWhen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    /// Whether `c` holds at record `r`.
    fn holds(c: &StopWhen, r: Metrics) -> bool {
        c.holds(&|m| r.value(m))
    }

    fn parse(s: &str) -> StopWhen {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn record(loss: f64, riem: f64) -> Metrics {
        Metrics {
            loss,
            riem_grad_norm: riem,
            ..Metrics::nonfinite(0, f64::NAN)
        }
    }

    #[test]
    fn parses_comparisons_joined_by_and_or_and_parentheses() {
        assert_eq!(parse("sv_ratio2_z<1e-3").to_string(), "sv_ratio2_z < 1e-3");
        assert_eq!(
            parse("loss < 1e-20 or riem_grad_norm <= 0.000000000001").to_string(),
            "loss < 1e-20 or riem_grad_norm <= 1e-12"
        );
        // `and` binds tighter than `or`; parentheses override it.
        assert_eq!(
            parse("loss < 1 or loss > 5 and time >= 2").to_string(),
            "loss < 1e0 or loss > 5e0 and time >= 2e0"
        );
        assert_eq!(
            parse("(loss < 1 or loss > 5) and time >= 2").to_string(),
            "(loss < 1e0 or loss > 5e0) and time >= 2e0"
        );
        for s in [
            "loss < 1 or loss > 5 and time >= 2",
            "(loss<1 or loss>5) and (time>=2)",
        ] {
            let once = parse(s).to_string();
            assert_eq!(parse(&once).to_string(), once, "canonical is stable");
        }
    }

    #[test]
    fn evaluates_with_precedence_and_nan_never_holds() {
        let c = parse("loss < 1e-20 or riem_grad_norm < 1e-12");
        assert!(holds(&c, record(1e-21, 1.0)));
        assert!(holds(&c, record(1.0, 1e-13)));
        assert!(!holds(&c, record(1.0, 1.0)));
        assert!(!holds(&c, record(f64::NAN, f64::NAN)));
        let p = parse("loss > 2 or loss < 1 and riem_grad_norm < 1");
        assert!(holds(&p, record(3.0, 5.0)), "or of (and)");
        assert!(!holds(&p, record(0.5, 5.0)));
        let q = parse("(loss > 2 or loss < 1) and riem_grad_norm < 1");
        assert!(!holds(&q, record(3.0, 5.0)));
        assert!(!holds(&parse("loss >= 0"), record(f64::NAN, 0.0)));
    }

    #[test]
    fn rejects_bad_syntax_and_unknown_metrics_with_a_reason() {
        for (text, why) in [
            ("", "got the end"),
            ("loss", "expected <, <=, > or >= after 'loss'"),
            ("loss <", "expected a number after 'loss <'"),
            ("loss < x", "expected a number"),
            ("loss = 1", "unexpected '='"),
            ("loss < 1 and", "got the end"),
            ("loss < 1 or or loss > 2", "unknown metric 'or'"),
            ("(loss < 1", "missing ')'"),
            ("loss < 1)", "unexpected ')'"),
            ("loss < 1 loss > 2", "unexpected 'loss'"),
            ("loss < 1e999", "not a finite number"),
            ("los < 1", "unknown metric 'los'"),
            ("1 > loss", "expected a metric name, got the number 1"),
        ] {
            let err = text.parse::<StopWhen>().unwrap_err().to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
