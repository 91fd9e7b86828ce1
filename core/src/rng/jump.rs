//! Xoshiro256's jump (2¹²⁸ draws ahead) by table look-up.
//!
//! `rand_xoshiro`'s `jump` steps the generator 256 times, adding up the
//! states that the jump polynomial's bits select: about 4 000 instructions
//! and a branch on a random bit at each step. A run jumps four times to
//! set up its streams, which was two thirds of what setting up a tiny run
//! cost (docs/performance.md, "Sweep overhead"). The jump is a linear map
//! of the 256-bit state over GF(2), so it is tabulated once: the images of
//! the 16 values of each of the state's 64 nibbles (32 KiB), whose sum
//! (XOR) over a state's nibbles is the jumped state. The same states, bit
//! for bit (tested against `rand_xoshiro` in rng.rs).

use std::sync::LazyLock;

/// A generator's state: its four words, as `from_seed` reads them.
pub type State = [u64; 4];

/// The jump polynomial of xoshiro256 (Blackman and Vigna), as
/// `rand_xoshiro` has it.
const JUMP: State = [
    0x180e_c6d3_3cfd_0aba,
    0xd5a6_1266_f0c9_392c,
    0xa958_2618_e03f_c9aa,
    0x39ab_dc45_29b1_661c,
];

/// The jump's image of each value of each nibble of the state.
type Table = [[State; 16]; 64];

static TABLE: LazyLock<Box<Table>> = LazyLock::new(tabulate);

/// `s` jumped 2¹²⁸ draws ahead.
pub fn jump(s: &State) -> State {
    let table = &**TABLE;
    let mut out = [0; 4];
    for (i, images) in table.iter().enumerate() {
        let nibble = (s[i / 16] >> (4 * (i % 16))) & 0xf;
        for (o, x) in out.iter_mut().zip(&images[nibble as usize]) {
            *o ^= x;
        }
    }
    out
}

fn tabulate() -> Box<Table> {
    let mut table = Box::new([[[0; 4]; 16]; 64]);
    for (i, images) in table.iter_mut().enumerate() {
        for bit in 0..4 {
            let at = 4 * i + bit;
            let mut unit = [0; 4];
            unit[at / 64] = 1 << (at % 64);
            let image = stepped_jump(unit);
            for (v, sum) in images.iter_mut().enumerate() {
                if v & (1 << bit) != 0 {
                    for (o, x) in sum.iter_mut().zip(image) {
                        *o ^= x;
                    }
                }
            }
        }
    }
    table
}

/// The jump as `rand_xoshiro` computes it: the sum of the states at the
/// steps the polynomial's bits select.
fn stepped_jump(mut s: State) -> State {
    let mut sum = [0; 4];
    for word in JUMP {
        for b in 0..64 {
            if word & (1 << b) != 0 {
                for (o, x) in sum.iter_mut().zip(s) {
                    *o ^= x;
                }
            }
            step(&mut s);
        }
    }
    sum
}

/// One step of xoshiro256's state (the same for its `++` and `**`
/// outputs).
fn step(s: &mut State) {
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
}
