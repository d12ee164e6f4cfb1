//! plogp-core: the pure-Rust kernels behind plogp.
//!
//! Slices in, scalars or slices out. Nothing here knows about Python: the binding crate
//! extracts contiguous slices from NumPy arrays, calls one entry point of this crate with the
//! GIL released, and maps [`Error`] to Python exceptions.
//!
//! Layout: [`simd`] is the one runtime-dispatch point and the lane abstraction every kernel is
//! written against; [`math`] holds the elementwise primitives; [`reduce`] the deterministic
//! compensated sum; [`parallel`] the private thread pool and chunking constants; one file per
//! family of quantities ([`entropy`], [`binary`], [`categorical`], [`activation`]).

pub mod activation;
pub mod binary;
pub mod categorical;
mod driver;
pub mod entropy;
mod error;
pub mod focal;
pub mod grad;
pub mod grouped;
pub mod input;
pub mod loss_options;
pub mod math;
pub mod parallel;
pub mod reduce;
pub mod simd;
mod value;

pub use driver::{ClassTargets, NanPolicy, Tally, Totals, Weights};
pub use error::{Error, Result};
pub use input::{Floats, FloatsMut, Ints, Targets};
pub use loss_options::LossOptions;
pub use value::Real;
