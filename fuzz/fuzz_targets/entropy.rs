//! Entropy, entropy from logits, cross-entropy, KL and JS divergence of rows.
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::entropy;

fn run<P: Gen>(u: &mut Unstructured<'_>) -> Result<()> {
    let op = u.int_in_range(0u8..=4)?;
    let (n_rows, c) = shape(u)?;
    let p = floats::<P>(u, n_rows * c)?;
    let q = floats::<P>(u, n_rows * c)?;
    let ln_base = ln_base(u)?;
    let threads = threads(u)?;
    same_everywhere(threads, || {
        let mut out = out_buf::<P>(n_rows);
        let r = match op {
            0 => entropy::entropy(&p, n_rows, c, ln_base, &mut out),
            1 => entropy::entropy_from_logits(&p, n_rows, c, ln_base, &mut out),
            2 => entropy::cross_entropy(&p, &q, n_rows, c, ln_base, &mut out),
            3 => entropy::kl_divergence(&p, &q, n_rows, c, ln_base, &mut out),
            _ => entropy::js_divergence(&p, &q, n_rows, c, ln_base, &mut out),
        };
        if let Err(e) = &r {
            check_error(e, n_rows * c, n_rows, None);
        }
        unit_outcome(r, &out)
    });
    Ok(())
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    if u.arbitrary::<bool>()? {
        run::<f64>(u)
    } else {
        run::<f32>(u)
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz(&mut Unstructured::new(data));
});
