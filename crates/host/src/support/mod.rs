//! Small leaf pieces every room may use and that use no room: the injected clock and ids,
//! client addresses, email addresses, the Markdown subset, the domain error.

pub mod client_ip;
pub mod clock;
pub mod email;
pub mod error;
pub mod markdown;
