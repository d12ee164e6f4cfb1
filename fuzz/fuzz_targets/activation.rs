//! Softmax, log-softmax and logsumexp of rows; sigmoid and log-sigmoid elementwise.
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::activation::{self, Elementwise, RowMap};

fn run<P: Gen>(u: &mut Unstructured<'_>) -> Result<()> {
    let op = u.int_in_range(0u8..=4)?;
    let threads = threads(u)?;
    if op < 3 {
        let (n_rows, c) = shape(u)?;
        let z = floats::<P>(u, n_rows * c)?;
        same_everywhere(threads, || {
            let mut out = out_buf::<P>(if op < 2 { n_rows * c } else { n_rows });
            let res = match op {
                0 => activation::row_map(RowMap::Softmax, &z, n_rows, c, &mut out),
                1 => activation::row_map(RowMap::LogSoftmax, &z, n_rows, c, &mut out),
                _ => activation::logsumexp(&z, n_rows, c, &mut out),
            };
            unit_outcome(res, &out)
        });
    } else {
        let n = length(u)?;
        let z = floats::<P>(u, n)?;
        let kind = if op == 3 {
            Elementwise::Sigmoid
        } else {
            Elementwise::LogSigmoid
        };
        same_everywhere(threads, || {
            let mut out = out_buf::<P>(n);
            let res = activation::elementwise(kind, &z, &mut out);
            unit_outcome(res, &out)
        });
    }
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
