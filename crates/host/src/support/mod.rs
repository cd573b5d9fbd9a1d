//! Small leaf pieces every room may use and that use no room: the injected clock and ids,
//! client addresses, email addresses, the Markdown subset, the domain error, a merchant's time
//! zone and locale.

pub mod client_ip;
pub mod clock;
pub mod email;
pub mod error;
pub mod i18n;
pub mod local;
pub mod markdown;
