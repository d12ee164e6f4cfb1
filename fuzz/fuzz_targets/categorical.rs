//! Categorical cross-entropy (probabilities, logits) with dense targets, and sparse
//! categorical cross-entropy (probabilities, logits) with integer labels of every width.
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::categorical;
use plogp_core::input::{Element, IntElement};

fn dense<T: Element, P: Gen>(
    u: &mut Unstructured<'_>,
    t_gen: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let (n_rows, c) = shape(u)?;
    let t = values(u, n_rows * c, t_gen)?;
    let p = floats::<P>(u, n_rows * c)?;
    let w = weights(u, n_rows)?;
    let nan = nan_policy(u)?;
    let eps = eps::<P>(u)?;
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    same_everywhere(threads, || {
        let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let r = if logits {
            categorical::cce_logits(&t, &p, n_rows, c, w.view(), nan, o)
        } else {
            categorical::cce_prob(&t, &p, n_rows, c, eps, w.view(), nan, o)
        };
        if let Err(e) = &r {
            check_error(e, n_rows * c, n_rows, None);
        }
        loss_outcome(r, &out)
    });
    Ok(())
}

fn sparse<L: IntElement + Int, P: Gen>(u: &mut Unstructured<'_>) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let (n_rows, c) = shape(u)?;
    let labels = values(u, n_rows, |u| int::<L>(u, c))?;
    let p = floats::<P>(u, n_rows * c)?;
    let w = weights(u, n_rows)?;
    let nan = nan_policy(u)?;
    let eps = eps::<P>(u)?;
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    same_everywhere(threads, || {
        let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let r = if logits {
            categorical::sparse_logits(&labels, &p, n_rows, c, w.view(), nan, o)
        } else {
            categorical::sparse_prob(&labels, &p, n_rows, c, eps, w.view(), nan, o)
        };
        if let Err(e) = &r {
            check_error(e, n_rows * c, n_rows, Some(c));
        }
        loss_outcome(r, &out)
    });
    Ok(())
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let p64 = u.arbitrary::<bool>()?;
    macro_rules! go {
        ($f:ident :: < $t:ty > $(, $gen:expr)?) => {
            if p64 {
                $f::<$t, f64>(u $(, $gen)?)
            } else {
                $f::<$t, f32>(u $(, $gen)?)
            }
        };
    }
    macro_rules! onehot {
        ($t:ty) => {
            go!(dense::<$t>, |u: &mut Unstructured<'_>| int::<$t>(u, 2))
        };
    }
    match u.int_in_range(0u8..=19)? {
        0 => go!(dense::<f64>, f64::gen),
        1 => go!(dense::<f32>, f32::gen),
        2 => onehot!(bool),
        3 => onehot!(i8),
        4 => onehot!(i64),
        5 => onehot!(u8),
        6 => onehot!(u64),
        7 => onehot!(i32),
        8 => onehot!(u16),
        9 => go!(sparse::<bool>),
        10 => go!(sparse::<i8>),
        11 => go!(sparse::<i16>),
        12 => go!(sparse::<i32>),
        13 => go!(sparse::<u8>),
        14 => go!(sparse::<u16>),
        15 => go!(sparse::<u32>),
        16 => go!(sparse::<u64>),
        _ => go!(sparse::<i64>),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz(&mut Unstructured::new(data));
});
