//! stockpost-http: what the hub and the agent put in front of their HTTP routers.
//!
//! - [`serve`]: an accept loop that bounds what a client can hold: at most
//!   `max_connections` open (one more is closed at once and counted), a connection that does not
//!   send a request's headers within `header_timeout` is closed (slow clients, idle keep-alive),
//!   and each request carries the client's address (`ConnectInfo`).
//! - [`front`]: a middleware that limits the request target (`414`) and the time to answer
//!   (`408`), rewrites any error answer that is not already `{"error": {"code", "message"}}`
//!   (axum's own 405, 413 or query-string rejections) into it, and counts every rejection by
//!   reason for `/metrics`.
//! - [`guard`]: failed-token windows per client address (`429` after too many).

pub mod front;
pub mod guard;
pub mod serve;

pub use front::{error_response, ErrorCode, Front, FrontLimits, REASONS};
pub use guard::Guard;
pub use serve::{serve, Limits};
