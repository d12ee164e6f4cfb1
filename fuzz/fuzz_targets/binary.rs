//! Binary cross-entropy from probabilities and from logits, with targets of every supported
//! type (f32, f64, bool, all integer widths incl. out-of-range values).
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::binary;
use plogp_core::input::Element;

fn run<Y: Element, P: Gen>(
    u: &mut Unstructured<'_>,
    y_gen: impl FnMut(&mut Unstructured<'_>) -> Result<Y>,
) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let n = length(u)?;
    let y = values(u, n, y_gen)?;
    let p = floats::<P>(u, n)?;
    let w = weights(u, n)?;
    let nan = nan_policy(u)?;
    let eps = eps::<P>(u)?;
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    same_everywhere(threads, || {
        let mut out = out_buf::<P>(if with_out { n } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let r = if logits {
            binary::bce_logits(&y, &p, w.view(), nan, o)
        } else {
            binary::bce_prob(&y, &p, eps, w.view(), nan, o)
        };
        if let Err(e) = &r {
            check_error(e, n, n, None);
        }
        loss_outcome(r, &out)
    });
    Ok(())
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let p64 = u.arbitrary::<bool>()?;
    macro_rules! go {
        ($y:ty, $gen:expr) => {
            if p64 {
                run::<$y, f64>(u, $gen)
            } else {
                run::<$y, f32>(u, $gen)
            }
        };
    }
    macro_rules! int {
        ($y:ty) => {
            go!($y, |u: &mut Unstructured<'_>| int::<$y>(u, 2))
        };
    }
    match u.int_in_range(0u8..=10)? {
        0 => go!(f64, f64::gen),
        1 => go!(f32, f32::gen),
        2 => int!(bool),
        3 => int!(i8),
        4 => int!(i16),
        5 => int!(i32),
        6 => int!(i64),
        7 => int!(u8),
        8 => int!(u16),
        9 => int!(u32),
        _ => int!(u64),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz(&mut Unstructured::new(data));
});
