//! The `paywidget` command's library half: the demo (`paywidget demo`, and `cargo xtask demo`
//! after a release build) and the merchant demo-site server the browser tests also use.

pub mod demo;
pub mod demo_seed;
pub mod site;
