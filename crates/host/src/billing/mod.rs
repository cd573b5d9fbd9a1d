//! Billing: what happens after a shopper pays. Verified gateway events ([`webhooks`]) fulfil
//! an order exactly once ([`fulfil`]: licence, receipt, mail), renewals, refunds and disputes
//! land on the right gift; [`update_card`] lets a donor replace a failing card; [`reconcile`]
//! compares the gateway's record with ours and repairs what a lost webhook left undone.

pub mod disputes;
pub mod fulfil;
pub mod reconcile;
pub mod update_card;
pub mod watch;
pub mod webhooks;
