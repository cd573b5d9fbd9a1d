//! HTTP integration tests of the sandbox gateway: the real router on 127.0.0.1:0, driven the way
//! Stripe clients drive Stripe (form-encoded bodies, bearer/basic auth, idempotency keys).

mod harness;

mod api;
mod billing;
mod card_data;
mod confirmation_tokens;
mod faults;
mod idempotency;
mod sepa;
mod stripe_js;
mod webhooks;
