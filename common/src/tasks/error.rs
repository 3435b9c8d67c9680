//! Why a station step was rejected: a stable snake_case code and a sentence an operator can act on.

use serde::{Deserialize, Serialize};

/// The stable code of a rejected step (`{"error": {"code": ...}}` in the agent API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No operator is signed in.
    NotSignedIn,
    /// No task to do, or no other task to skip to.
    NoTask,
    /// The station kind may not do this task.
    TaskNotAllowed,
    /// A scan of a kind the current step does not expect.
    UnexpectedScan,
    /// A command the current step does not accept.
    UnexpectedCommand,
    /// A location other than the one expected.
    WrongLocation,
    /// A location the node does not know.
    UnknownLocation,
    /// An item other than the one expected.
    WrongItem,
    /// A barcode that matches no item.
    UnknownBarcode,
    /// The right item with another lot than the task asks for.
    WrongLot,
    /// A lot-tracked item scanned without a lot (10).
    LotRequired,
    /// A serial-tracked item scanned without a serial (21).
    SerialRequired,
    /// An expiry-controlled item scanned without an expiry (17) or best-before (15) date.
    ExpiryRequired,
    /// The same serial scanned twice.
    DuplicateSerial,
    /// A quantity for a serial-tracked item other than one.
    SerialQuantity,
    /// A quantity scanned before any item.
    QuantityWithoutItem,
    /// A quantity that is out of range.
    InvalidQuantity,
    /// More received than the inbound notice line allows.
    OverReceipt,
    /// More picked (or moved, returned) than the line asks for.
    OverPick,
    /// More than the book says is at the location (pick short instead).
    InsufficientStock,
    /// Confirm before everything was picked (pick more or short).
    PickIncomplete,
    /// Confirm with nothing to confirm.
    NothingToConfirm,
    /// Cancel with nothing to cancel.
    NothingToCancel,
    /// Unconfirmed scans would be lost (confirm or cancel first).
    UnconfirmedScans,
    /// A container other than the one expected.
    WrongContainer,
    /// A container no open task refers to.
    UnknownContainer,
    /// An order other than the one expected.
    WrongOrder,
    /// An order or RMA no open task refers to.
    UnknownOrder,
    /// Packing more of an item than the order holds.
    OverPack,
    /// Packing stock that is not in the tote.
    NotInTote,
    /// A weight reading that is not stable.
    WeightUnstable,
    /// A weight reading without a usable value (overload, error, unknown unit).
    WeightUnusable,
    /// The carton weight is outside the expected tolerance.
    WeightMismatch,
    /// A weight reading when no carton is on the scale.
    UnexpectedWeight,
    /// The task data cannot be worked (missing order, RMA, location).
    TaskInvalid,
    /// The station is not configured for this (e.g. no returns location).
    StationConfig,
    /// A scanned identifier that is not valid for its kind.
    InvalidId,
    /// The scan could not be understood at all (bad `Q:` value, unknown `C:` command, broken
    /// GS1 data).
    UnreadableScan,
}

impl ErrorCode {
    /// The code as sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotSignedIn => "not_signed_in",
            ErrorCode::NoTask => "no_task",
            ErrorCode::TaskNotAllowed => "task_not_allowed",
            ErrorCode::UnexpectedScan => "unexpected_scan",
            ErrorCode::UnexpectedCommand => "unexpected_command",
            ErrorCode::WrongLocation => "wrong_location",
            ErrorCode::UnknownLocation => "unknown_location",
            ErrorCode::WrongItem => "wrong_item",
            ErrorCode::UnknownBarcode => "unknown_barcode",
            ErrorCode::WrongLot => "wrong_lot",
            ErrorCode::LotRequired => "lot_required",
            ErrorCode::SerialRequired => "serial_required",
            ErrorCode::ExpiryRequired => "expiry_required",
            ErrorCode::DuplicateSerial => "duplicate_serial",
            ErrorCode::SerialQuantity => "serial_quantity",
            ErrorCode::QuantityWithoutItem => "quantity_without_item",
            ErrorCode::InvalidQuantity => "invalid_quantity",
            ErrorCode::OverReceipt => "over_receipt",
            ErrorCode::OverPick => "over_pick",
            ErrorCode::InsufficientStock => "insufficient_stock",
            ErrorCode::PickIncomplete => "pick_incomplete",
            ErrorCode::NothingToConfirm => "nothing_to_confirm",
            ErrorCode::NothingToCancel => "nothing_to_cancel",
            ErrorCode::UnconfirmedScans => "unconfirmed_scans",
            ErrorCode::WrongContainer => "wrong_container",
            ErrorCode::UnknownContainer => "unknown_container",
            ErrorCode::WrongOrder => "wrong_order",
            ErrorCode::UnknownOrder => "unknown_order",
            ErrorCode::OverPack => "over_pack",
            ErrorCode::NotInTote => "not_in_tote",
            ErrorCode::WeightUnstable => "weight_unstable",
            ErrorCode::WeightUnusable => "weight_unusable",
            ErrorCode::WeightMismatch => "weight_mismatch",
            ErrorCode::UnexpectedWeight => "unexpected_weight",
            ErrorCode::TaskInvalid => "task_invalid",
            ErrorCode::StationConfig => "station_config",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::UnreadableScan => "unreadable_scan",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected step. Serialises as `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// The stable code.
    pub code: ErrorCode,
    /// What happened and what to do, for the operator.
    pub message: String,
}

impl StepError {
    /// A rejection with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Shorthand used by the flows.
pub(crate) fn err<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, StepError> {
    Err(StepError::new(code, message))
}
