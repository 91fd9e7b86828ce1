//! A second layer of ones is \[G24\]'s network bit for bit: every kernel
//! and formula multiplies by a_j, which for a = 1 is exact, so a run
//! without `outer` gives the bits it gave before the second layer was a
//! parameter. The fingerprints below were written by `sharpsweep run` of
//! the release before (the flags in each case's comment; its `export
//! --csv` read back), on the direct kernel, the GEMM kernel, SAM and the
//! flow (the lanes kernel gives the single-run kernel's bits, lanes.rs).
//! The flow's was written again when its solve with JJᵀ became a Cholesky
//! on the stack (core/src/small_cholesky.rs), which rounds differently
//! from faer's in the last bits; the flow's tests against the float64
//! reference pass as before.

use sharpsweep_core::config::{DataGen, OuterGen};
use sharpsweep_core::{ActivationName, AlgorithmName, RunConfig, Source, Trainer};

/// FNV-1a over the little-endian bytes of the values.
fn fingerprint(values: impl IntoIterator<Item = f64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Θ at the end, then the last record's loss, R and tr ∇²L.
fn run(c: &RunConfig) -> u64 {
    let mut t = Trainer::new(c).unwrap();
    let mut last = None;
    t.run(|r| last = Some(r.clone()));
    let r = last.unwrap();
    let theta = t.state().theta.clone();
    fingerprint(
        theta
            .into_iter()
            .chain([r.loss, r.sharpness_r, r.trace_hessian]),
    )
}

#[test]
fn a_second_layer_of_ones_keeps_every_bit_of_the_runs_before_it() {
    let cases = [
        // run --m 6 --d 3 --n 4 --steps 2000 --batch-size 2 --activation tanh --seed 3
        (
            RunConfig {
                m: 6,
                d: 3,
                n: 4,
                steps: 2000,
                batch_size: Some(2),
                activation: ActivationName::Tanh,
                seed: 3,
                ..Default::default()
            },
            0x6561_17cf_6e78_dc0d,
        ),
        // run --m 64 --d 8 --n 4 --steps 300 --eta 0.001 --activation tanh --seed 5 (GEMM)
        (
            RunConfig {
                m: 64,
                d: 8,
                n: 4,
                steps: 300,
                eta: 0.001,
                activation: ActivationName::Tanh,
                seed: 5,
                ..Default::default()
            },
            0xa3f4_d2a4_c34b_66cc,
        ),
        // run --algorithm sam --m 5 --d 3 --n 4 --steps 2000 --rho 0.05 --seed 2 --eta 0.02
        (
            RunConfig {
                algorithm: AlgorithmName::Sam,
                m: 5,
                d: 3,
                n: 4,
                steps: 2000,
                rho: 0.05,
                seed: 2,
                eta: 0.02,
                ..Default::default()
            },
            0x2022_8832_2cfc_8ba7,
        ),
        // run --algorithm flow --m 4 --d 5 --n 3 --data orthonormal --steps 300 --seed 2
        // (the release with the stack Cholesky; 0xbcf1_c87e_3c87_4f9e before)
        (
            RunConfig {
                algorithm: AlgorithmName::Flow,
                m: 4,
                d: 5,
                n: 3,
                data: Source::Generate(DataGen::Orthonormal),
                steps: 300,
                seed: 2,
                ..Default::default()
            },
            0xed5a_5461_9c9d_40a1,
        ),
    ];
    // The first run's id, as that release named it.
    assert_eq!(cases[0].0.run_id().to_string(), "b14c8883bf6fd23f");
    for (c, want) in cases {
        assert_eq!(c.outer, Source::Generate(OuterGen::Ones));
        let got = run(&c);
        assert_eq!(
            got,
            want,
            "{}: {got:#x}, before the second layer {want:#x}",
            c.algorithm.as_str()
        );
        // The run's identity is the one it had, too: `outer = ones` is not
        // written.
        assert!(!serde_json::to_string(&c).unwrap().contains("outer"));
    }
}

#[test]
fn another_second_layer_is_another_run() {
    let ones = RunConfig::default();
    let alternating = RunConfig {
        outer: Source::Generate(OuterGen::Alternating),
        ..ones.clone()
    };
    assert_ne!(ones.run_id(), alternating.run_id());
    assert!(
        serde_json::to_string(&alternating)
            .unwrap()
            .contains(r#""outer":"alternating""#)
    );
}
