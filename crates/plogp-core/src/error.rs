//! The errors a caller can provoke. The binding crate maps every variant to a Python
//! `ValueError`, except [`Error::Interrupted`] (the pending `KeyboardInterrupt`); a panic is
//! always a bug, never part of the API.

use std::fmt;

/// Something wrong with the *values* of the input (shapes and options are checked by the
/// caller before a kernel runs; values are checked by the kernel in the same pass as it computes).
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A probability or target outside `[lo, hi]`. `index` is the flat (row-major) index.
    OutOfRange {
        arg: &'static str,
        index: usize,
        value: f64,
        lo: f64,
        hi: f64,
    },
    /// An integer class label outside `[0, n_classes)`.
    LabelOutOfRange {
        arg: &'static str,
        index: usize,
        value: i128,
        n_classes: usize,
    },
    /// A negative, infinite or NaN weight.
    BadWeight {
        arg: &'static str,
        index: usize,
        value: f64,
    },
    /// `reduction="mean"` over a total weight of zero (including an empty input).
    ZeroTotalWeight,
    /// A distribution to normalise (`normalize=True`) whose sum is 0 or overflows; `row` is
    /// its index among the distributions (row-major over the other axes).
    BadSum {
        arg: &'static str,
        row: usize,
        sum: f64,
    },
    /// `nan_policy="raise"` met an item whose loss is NaN (flat item index).
    NanLoss { index: usize },
    /// A group id (`groups=`) that is negative or not below `max_groups`.
    BadGroup {
        index: usize,
        value: i128,
        max_groups: usize,
    },
    /// A caller broke an invariant of the API (e.g. an output of the wrong float type): a bug
    /// of the caller, reported rather than panicking inside a user's process.
    Internal(&'static str),
    /// The call was cancelled through its token (see [`crate::parallel::cancellable`]),
    /// e.g. because Ctrl-C arrived while it ran; its partial results were discarded.
    Interrupted,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The argument whose values the error is about, where it names one.
    pub fn arg(&self) -> Option<&'static str> {
        match self {
            Error::OutOfRange { arg, .. }
            | Error::LabelOutOfRange { arg, .. }
            | Error::BadWeight { arg, .. }
            | Error::BadSum { arg, .. } => Some(arg),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::OutOfRange {
                arg,
                index,
                value,
                lo,
                hi,
            } => write!(
                f,
                "{arg} must be within [{lo}, {hi}]; found {arg}[{index}] = {value} (flat index)"
            ),
            Error::LabelOutOfRange {
                arg,
                index,
                value,
                n_classes,
            } => write!(
                f,
                "{arg}[{index}] = {value} is out of range for {n_classes} classes \
                 (labels must be in [0, {n_classes}))"
            ),
            Error::BadWeight { arg, index, value } => write!(
                f,
                "{arg} must be finite and non-negative; found {arg}[{index}] = {value}"
            ),
            Error::NanLoss { index } => write!(
                f,
                "nan_policy='raise': the loss of item {index} is NaN (a NaN in y_true or y_pred \
                 at that item, or an undefined value such as inf - inf)"
            ),
            Error::BadGroup {
                index,
                value,
                max_groups,
            } => write!(
                f,
                "groups[{index}] = {value} is not a valid group id \
                 (group ids must be integers in [0, {max_groups}))"
            ),
            Error::BadSum { arg, row, sum } => write!(
                f,
                "normalize=True needs every distribution of {arg} to have a positive finite \
                 sum; distribution {row} of {arg} sums to {sum}"
            ),
            Error::Internal(what) => write!(f, "internal error in plogp: {what}"),
            Error::Interrupted => write!(f, "the call was interrupted (e.g. by Ctrl-C)"),
            Error::ZeroTotalWeight => write!(
                f,
                "reduction='mean' is undefined over zero total weight \
                 (empty input, or every sample_weight is 0)"
            ),
        }
    }
}

impl std::error::Error for Error {}
