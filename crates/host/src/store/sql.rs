//! The host's SQL, written once for both databases: [`sql_store!`] expands to the [`Store`]
//! implementations (one per aggregate trait) and the [`StoreTx`] one, over one sqlx driver. The statements use `$N` placeholders and
//! SQL both SQLite and PostgreSQL accept; where they must differ (a lock to take, a row-locking
//! clause) the backend passes its piece in.
//!
//! [`Store`]: super::Store
//! [`StoreTx`]: super::StoreTx

/// Implements `Store` for `$store` (a struct with a `pool: sqlx::Pool<$db>` field) and
/// `StoreTx` for a new `$tx` over a `$db` transaction.
/// - `key_lock`: `Option<&str>`, a statement taking a transaction-scoped lock on one key (`$1`),
///   run before a read-then-write that must not interleave across hosts;
/// - `skip_locked`: appended to an outbox claim's inner `SELECT` (`" FOR UPDATE SKIP LOCKED"`);
/// - `begin`: `Option<&str>`, the statement that begins a transaction (default `BEGIN`).
macro_rules! sql_store {
    ($store:ident, $tx:ident, $db:ty, key_lock: $lock:expr, skip_locked: $skip:expr, begin: $begin:expr) => {
        /// A transaction, begun as the backend needs (`$begin`: SQLite takes the write lock
        /// up front, so a transaction that reads then writes never fails to upgrade its lock
        /// with "database is locked" while another writes).
        async fn begin_on(
            pool: &sqlx::Pool<$db>,
        ) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
            let begin: Option<&'static str> = $begin;
            Ok(match begin {
                Some(statement) => pool.begin_with(statement).await?,
                None => pool.begin().await?,
            })
        }

        fn session_row(r: &<$db as sqlx::Database>::Row) -> Result<SessionRow, StoreError> {
            let kind: String = r.try_get("kind")?;
            let currency: String = r.try_get("currency")?;
            let status: String = r.try_get("status")?;
            Ok(SessionRow {
                id: r.try_get("id")?,
                merchant: r.try_get("merchant")?,
                campaign: r.try_get("campaign")?,
                kind: CampaignKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("session kind {kind:?}")))?,
                amount: r.try_get("amount")?,
                fee: r.try_get("fee")?,
                currency: Currency::from_code(&currency)
                    .map_err(|_| StoreError::Corrupt(format!("session currency {currency:?}")))?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                status: SessionStatus::parse(&status),
                payment_intent: r.try_get("payment_intent")?,
                redirect_url: r.try_get("redirect_url")?,
                decline_code: r
                    .try_get::<Option<String>, _>("decline_code")?
                    .map(|c| DeclineCode::parse(&c)),
                decline_message: r.try_get("decline_message")?,
                amount_refunded: r.try_get("amount_refunded")?,
                frequency: {
                    let f: String = r.try_get("frequency")?;
                    Frequency::parse(&f).ok_or_else(|| StoreError::Corrupt(format!("frequency {f:?}")))?
                },
                subscription: r.try_get("subscription_id")?,
                subscription_status: r
                    .try_get::<Option<String>, _>("subscription_status")?
                    .map(|s| SubscriptionStatus::parse(&s)),
                cancel_at_period_end: r.try_get::<i64, _>("cancel_at_period_end")? != 0,
                paused: r.try_get::<i64, _>("paused")? != 0,
                tier: r.try_get("tier")?,
                next_amount: r.try_get("next_amount")?,
                created: r.try_get("created")?,
            })
        }

        fn invoice_row(r: &<$db as sqlx::Database>::Row) -> Result<InvoiceRow, StoreError> {
            Ok(InvoiceRow {
                invoice_id: r.try_get("invoice_id")?,
                session_id: r.try_get("session_id")?,
                billing_reason: r.try_get("billing_reason")?,
                amount: r.try_get("amount")?,
                receipt_number: r.try_get("receipt_number")?,
                period_end: r.try_get("period_end")?,
                created: r.try_get("created")?,
                reversed: r.try_get("reversed")?,
            })
        }

        // The queries, once each, over any executor: the pool (outside a transaction) or a
        // transaction's connection.

        async fn select_session<'e>(
            e: impl sqlx::Executor<'e, Database = $db>,
            id: &str,
        ) -> Result<Option<SessionRow>, StoreError> {
            sqlx::query("SELECT * FROM sessions WHERE id = $1")
                .bind(id)
                .fetch_optional(e)
                .await?
                .as_ref()
                .map(session_row)
                .transpose()
        }

        async fn advance_on<'e>(
            e: impl sqlx::Executor<'e, Database = $db>,
            id: &str,
            status: SessionStatus,
            now: i64,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(advance_sql())
                .bind(status.as_str())
                .bind(now)
                .bind(id)
                .bind(i64::from(status.rank()))
                .execute(e)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn set_payment_intent_on<'e>(
            e: impl sqlx::Executor<'e, Database = $db>,
            id: &str,
            payment_intent: &str,
        ) -> Result<(), StoreError> {
            sqlx::query("UPDATE sessions SET payment_intent = $1 WHERE id = $2 AND payment_intent IS NULL")
                .bind(payment_intent)
                .bind(id)
                .execute(e)
                .await?;
            Ok(())
        }

        async fn set_decline_on<'e>(
            e: impl sqlx::Executor<'e, Database = $db>,
            id: &str,
            code: &DeclineCode,
            message: &str,
        ) -> Result<(), StoreError> {
            sqlx::query("UPDATE sessions SET decline_code = $1, decline_message = $2 WHERE id = $3")
                .bind(code.as_str())
                .bind(message)
                .bind(id)
                .execute(e)
                .await?;
            Ok(())
        }

        #[async_trait]
        impl Store for $store {
            async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
                Ok(Box::new($tx(begin_on(&self.pool).await?)))
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn insert_session(&self, s: &SessionRow, now: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (id, merchant, campaign, kind, amount, fee, currency, email, name, status, frequency, tier, created, updated) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&s.id)
                .bind(&s.merchant)
                .bind(&s.campaign)
                .bind(s.kind.as_str())
                .bind(s.amount)
                .bind(s.fee)
                .bind(s.currency.code())
                .bind(&s.email)
                .bind(&s.name)
                .bind(s.status.as_str())
                .bind(s.frequency.as_str())
                .bind(&s.tier)
                .bind(now)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn set_subscription(&self, id: &str, subscription: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET subscription_id = $1 WHERE id = $2")
                    .bind(subscription)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn invoices(&self, session: &str) -> Result<Vec<InvoiceRow>, StoreError> {
                let rows =
                    sqlx::query("SELECT * FROM invoices WHERE session_id = $1 ORDER BY created, invoice_id")
                        .bind(session)
                        .fetch_all(&self.pool)
                        .await?;
                rows.iter().map(invoice_row).collect()
            }

            async fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
                select_session(&self.pool, id).await
            }

            async fn advance(&self, id: &str, status: SessionStatus, now: i64) -> Result<bool, StoreError> {
                advance_on(&self.pool, id, status, now).await
            }

            async fn set_payment_intent(&self, id: &str, payment_intent: &str) -> Result<(), StoreError> {
                set_payment_intent_on(&self.pool, id, payment_intent).await
            }

            async fn set_decline(
                &self,
                id: &str,
                code: &DeclineCode,
                message: &str,
            ) -> Result<(), StoreError> {
                set_decline_on(&self.pool, id, code, message).await
            }

            async fn set_redirect_url(&self, id: &str, url: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET redirect_url = $1 WHERE id = $2")
                    .bind(url)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn sessions_by_email(&self, email: &str) -> Result<Vec<SessionRow>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT * FROM sessions WHERE email = $1 AND status IN ({}) ORDER BY created DESC, id",
                    ["paid", "fulfilled", "refunded", "disputed"]
                        .map(|s| format!("'{s}'"))
                        .join(", ")
                ))
                .bind(email)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(session_row).collect()
            }

            async fn set_cancel_at_period_end(&self, id: &str, cancel: bool) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET cancel_at_period_end = $1 WHERE id = $2")
                    .bind(i64::from(cancel))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn record_update_attempt(
                &self,
                session: &str,
                since: i64,
                now: i64,
            ) -> Result<u32, StoreError> {
                sqlx::query("INSERT INTO update_card_attempts (session_id, created) VALUES ($1, $2)")
                    .bind(session)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM update_card_attempts WHERE session_id = $1 AND created >= $2",
                )
                .bind(session)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            }

            async fn set_plan(
                &self,
                id: &str,
                amount: i64,
                frequency: Frequency,
            ) -> Result<(), StoreError> {
                // The first gift's amount stays as paid (receipts, statements); renewals follow this.
                sqlx::query("UPDATE sessions SET next_amount = $1, frequency = $2 WHERE id = $3")
                    .bind(amount)
                    .bind(frequency.as_str())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_paused(&self, id: &str, paused: bool) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET paused = $1 WHERE id = $2")
                    .bind(i64::from(paused))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn sessions_created(
                &self,
                since: i64,
                until: i64,
            ) -> Result<Vec<SessionRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM sessions WHERE created >= $1 AND created < $2 ORDER BY created, id",
                )
                .bind(since)
                .bind(until)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(session_row).collect()
            }

            async fn invoice(&self, id: &str) -> Result<Option<InvoiceRow>, StoreError> {
                sqlx::query("SELECT * FROM invoices WHERE invoice_id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(invoice_row)
                    .transpose()
            }

            async fn session_by_payment_intent(
                &self,
                payment_intent: &str,
            ) -> Result<Option<SessionRow>, StoreError> {
                sqlx::query("SELECT * FROM sessions WHERE payment_intent = $1")
                    .bind(payment_intent)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(session_row)
                    .transpose()
            }

            async fn session_by_subscription(
                &self,
                subscription: &str,
            ) -> Result<Option<SessionRow>, StoreError> {
                sqlx::query("SELECT * FROM sessions WHERE subscription_id = $1")
                    .bind(subscription)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(session_row)
                    .transpose()
            }
        }

        #[async_trait]
        impl AttemptStore for $store {
            async fn claim_attempt(
                &self,
                session: &str,
                key: &str,
                now: i64,
                stale_before: i64,
            ) -> Result<bool, StoreError> {
                // `created` is the claim's time: a takeover renews it, so one holder at a time.
                let done = sqlx::query(
                    "INSERT INTO pay_attempts (session_id, client_key, created) VALUES ($1, $2, $3) \
                     ON CONFLICT (session_id, client_key) DO UPDATE SET created = excluded.created \
                     WHERE pay_attempts.outcome IS NULL AND pay_attempts.created < $4",
                )
                .bind(session)
                .bind(key)
                .bind(now)
                .bind(stale_before)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn attempt(&self, session: &str, key: &str) -> Result<Attempt, StoreError> {
                let outcome: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT outcome FROM pay_attempts WHERE session_id = $1 AND client_key = $2",
                )
                .bind(session)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match outcome {
                    None => Attempt::Free,
                    Some(None) => Attempt::Running,
                    Some(Some(json)) => Attempt::Finished(
                        serde_json::from_str(&json)
                            .map_err(|e| StoreError::Corrupt(format!("pay outcome: {e}")))?,
                    ),
                })
            }

            async fn finish_attempt(
                &self,
                session: &str,
                key: &str,
                outcome: &PayOutcome,
            ) -> Result<(), StoreError> {
                // Kept as the answer's own JSON, so a replay answers byte for byte the same.
                let json = serde_json::to_string(outcome)
                    .map_err(|e| StoreError::Corrupt(format!("pay outcome: {e}")))?;
                sqlx::query("UPDATE pay_attempts SET outcome = $1 WHERE session_id = $2 AND client_key = $3")
                    .bind(json)
                    .bind(session)
                    .bind(key)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn release_attempt(&self, session: &str, key: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "DELETE FROM pay_attempts WHERE session_id = $1 AND client_key = $2 AND outcome IS NULL",
                )
                .bind(session)
                .bind(key)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl FulfilmentStore for $store {
            async fn session_by_order_ref(&self, order_ref: &str) -> Result<Option<String>, StoreError> {
                Ok(sqlx::query_scalar("SELECT session_id FROM fulfilments WHERE order_ref = $1")
                    .bind(order_ref)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn fulfilment(&self, session: &str) -> Result<Option<FulfilmentRow>, StoreError> {
                let Some(r) = sqlx::query("SELECT * FROM fulfilments WHERE session_id = $1")
                    .bind(session)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let kind: String = r.try_get("kind")?;
                Ok(Some(FulfilmentRow {
                    session_id: r.try_get("session_id")?,
                    kind: CampaignKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("fulfilment kind {kind:?}")))?,
                    license_key: r.try_get("license_key")?,
                    receipt_number: r.try_get("receipt_number")?,
                    revoked: r.try_get::<i64, _>("revoked")? != 0,
                    revoked_reason: r.try_get("revoked_reason")?,
                    created: r.try_get("created")?,
                    paid_until: r.try_get("paid_until")?,
                    extra_seats: r.try_get("extra_seats")?,
                    extra_days: r.try_get("extra_days")?,
                    suspended: r.try_get::<i64, _>("suspended")? != 0,
                }))
            }

            async fn audit(&self, _now: i64, stale_before: i64) -> Result<Audit, StoreError> {
                let count = |sql: &'static str| {
                    let pool = self.pool.clone();
                    async move {
                        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await?;
                        Ok::<u64, StoreError>(u64::try_from(n).unwrap_or(0))
                    }
                };
                // A claim without an outcome strands its shopper only while the session is
                // unpaid: a paid session answers every key "succeeded" (a host killed after
                // charging leaves such claims behind, harmlessly).
                let charged = SessionStatus::ALL
                    .iter()
                    .filter(|s| s.is_charged())
                    .map(|s| format!("'{}'", s.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let stuck: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM pay_attempts p JOIN sessions s ON s.id = p.session_id \
                     WHERE p.outcome IS NULL AND p.created < $1 AND s.status NOT IN ({charged})"
                ))
                .bind(stale_before)
                .fetch_one(&self.pool)
                .await?;
                // Every receipt number the host wrote, per merchant (fulfilments and renewals).
                let numbers: Vec<(String, String)> = sqlx::query_as(
                    "SELECT s.merchant, f.receipt_number FROM fulfilments f \
                     JOIN sessions s ON s.id = f.session_id WHERE f.receipt_number IS NOT NULL \
                     UNION ALL SELECT s.merchant, i.receipt_number FROM invoices i \
                     JOIN sessions s ON s.id = i.session_id WHERE i.receipt_number IS NOT NULL",
                )
                .fetch_all(&self.pool)
                .await?;
                let counters: Vec<(String, i64)> =
                    sqlx::query_as("SELECT merchant, last FROM receipt_counters")
                        .fetch_all(&self.pool)
                        .await?;
                Ok(Audit {
                    sessions: count("SELECT COUNT(*) FROM sessions").await?,
                    fulfilments: count("SELECT COUNT(*) FROM fulfilments").await?,
                    receipt_numbers: u64::try_from(numbers.len()).unwrap_or(0),
                    receipt_gaps: super::receipt_gaps(&numbers, &counters),
                    stuck_keys: u64::try_from(stuck).unwrap_or(0),
                })
            }
        }

        #[async_trait]
        impl PortalStore for $store {
            async fn insert_portal_login(&self, l: &PortalLogin) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO portal_logins (token_hash, email, code_hash, expires, created) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&l.token_hash)
                .bind(&l.email)
                .bind(&l.code_hash)
                .bind(l.expires)
                .bind(l.created)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn take_portal_login_by_token(
                &self,
                token_hash: &str,
                now: i64,
            ) -> Result<Option<String>, StoreError> {
                // One statement: two clicks (or a scanner and a person) cannot both use it.
                Ok(sqlx::query_scalar(
                    "UPDATE portal_logins SET used = 1 WHERE token_hash = $1 AND used = 0 AND expires > $2 RETURNING email",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn portal_guess(
                &self,
                email: &str,
                now: i64,
            ) -> Result<Vec<(String, String)>, StoreError> {
                // The try is counted in the statement that reads the request, so concurrent
                // guesses each spend one: never more than five per request.
                Ok(sqlx::query_as(
                    "UPDATE portal_logins SET attempts = attempts + 1 WHERE email = $1 AND used = 0 \
                     AND expires > $2 AND attempts < 5 RETURNING token_hash, code_hash",
                )
                .bind(email)
                .bind(now)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn take_portal_login(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
                let used: Option<String> = sqlx::query_scalar(
                    "UPDATE portal_logins SET used = 1 WHERE token_hash = $1 AND used = 0 AND expires > $2 RETURNING email",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(used.is_some())
            }

            async fn insert_portal_session(
                &self,
                id_hash: &str,
                email: &str,
                csrf: &str,
                expires: i64,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO portal_sessions (id_hash, email, csrf, expires, created) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id_hash)
                .bind(email)
                .bind(csrf)
                .bind(expires)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn portal_session(
                &self,
                id_hash: &str,
                now: i64,
            ) -> Result<Option<(String, String)>, StoreError> {
                let row = sqlx::query(
                    "SELECT email, csrf FROM portal_sessions WHERE id_hash = $1 AND expires > $2",
                )
                .bind(id_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| Ok((r.try_get("email")?, r.try_get("csrf")?)))
                    .transpose()
            }

            async fn delete_portal_session(&self, id_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl LicenceStore for $store {
            async fn activations_seen(&self, order: &str) -> Result<Vec<Installation>, StoreError> {
                let rows = sqlx::query(
                    "SELECT instance, created, last_seen FROM activations WHERE order_id = $1 ORDER BY created, instance",
                )
                .bind(order)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Installation {
                            instance: r.try_get("instance")?,
                            first_seen: r.try_get("created")?,
                            last_seen: r.try_get("last_seen")?,
                        })
                    })
                    .collect()
            }

            async fn deactivate_all(&self, order: &str) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM activations WHERE order_id = $1")
                    .bind(order)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn add_to_licence(
                &self,
                session: &str,
                seats: i64,
                days: i64,
                max_seats: i64,
            ) -> Result<bool, StoreError> {
                // The cap is checked by the statement itself: requests racing cannot pass it.
                let r = sqlx::query(
                    "UPDATE fulfilments SET extra_seats = extra_seats + $1, extra_days = extra_days + $2 \
                     WHERE session_id = $3 AND license_key IS NOT NULL AND extra_seats + $1 <= $4",
                )
                .bind(seats)
                .bind(days)
                .bind(session)
                .bind(max_seats)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_suspended(&self, session: &str, suspended: bool) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE fulfilments SET suspended = $1 WHERE session_id = $2 AND license_key IS NOT NULL",
                )
                .bind(i64::from(suspended))
                .bind(session)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn log_activation(&self, a: &ActivationAttempt) -> Result<(), StoreError> {
                let mut tx = begin_on(&self.pool).await?;
                sqlx::query(
                    "INSERT INTO activation_log (session_id, instance, outcome, reason, at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&a.session_id)
                .bind(&a.instance)
                .bind(&a.outcome)
                .bind(&a.reason)
                .bind(a.at)
                .execute(&mut *tx)
                .await?;
                // A bot trying one key for ever keeps 100 rows, not millions.
                sqlx::query(
                    "DELETE FROM activation_log WHERE session_id = $1 AND id NOT IN \
                     (SELECT id FROM activation_log WHERE session_id = $1 ORDER BY id DESC LIMIT 100)",
                )
                .bind(&a.session_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn activation_log(
                &self,
                order: &str,
                limit: u32,
            ) -> Result<Vec<ActivationAttempt>, StoreError> {
                let rows = sqlx::query(
                    "SELECT session_id, instance, outcome, reason, at FROM activation_log \
                     WHERE session_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(order)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(ActivationAttempt {
                            session_id: r.try_get("session_id")?,
                            instance: r.try_get("instance")?,
                            outcome: r.try_get("outcome")?,
                            reason: r.try_get("reason")?,
                            at: r.try_get("at")?,
                        })
                    })
                    .collect()
            }

            async fn activate(
                &self,
                order: &str,
                instance: &str,
                seats: u16,
                now: i64,
            ) -> Result<Activated, StoreError> {
                // The seat count is read and the row written in one statement, under the order's lock
                // ($lock: PostgreSQL's READ COMMITTED would let two hosts both see a free seat; SQLite
                // has one writer at a time).
                let mut tx = begin_on(&self.pool).await?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).bind(order).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO activations (order_id, instance, created) \
                     SELECT $1, $2, $3 WHERE (SELECT COUNT(*) FROM activations WHERE order_id = $1) < $4 \
                     ON CONFLICT (order_id, instance) DO NOTHING",
                )
                .bind(order)
                .bind(instance)
                .bind(now)
                .bind(i64::from(seats))
                .execute(&mut *tx)
                .await?;
                // A re-activation (or the first) marks the installation seen now.
                sqlx::query("UPDATE activations SET last_seen = $3 WHERE order_id = $1 AND instance = $2")
                    .bind(order)
                    .bind(instance)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let (mine, used): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*) FILTER (WHERE instance = $2), COUNT(*) FROM activations WHERE order_id = $1",
                )
                .bind(order)
                .bind(instance)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(if mine == 0 {
                    Activated::Full
                } else {
                    Activated::Active {
                        used: u16::try_from(used).unwrap_or(u16::MAX),
                    }
                })
            }

            async fn deactivate(&self, order: &str, instance: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM activations WHERE order_id = $1 AND instance = $2")
                    .bind(order)
                    .bind(instance)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn activations(&self, order: &str) -> Result<Vec<(String, i64)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT instance, created FROM activations WHERE order_id = $1 ORDER BY created, instance",
                )
                .bind(order)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("instance")?, r.try_get("created")?)))
                    .collect()
            }
        }

        #[async_trait]
        impl ShieldStore for $store {
            async fn shield_record(
                &self,
                merchant: &str,
                keys: &[(&str, String)],
                declined: bool,
                at: i64,
            ) -> Result<(), StoreError> {
                let mut tx = begin_on(&self.pool).await?;
                for (kind, key) in keys {
                    sqlx::query(
                        "INSERT INTO shield_events (merchant, kind, key, declined, at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(merchant)
                    .bind(kind)
                    .bind(key)
                    .bind(i64::from(declined))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn shield_reserve(
                &self,
                merchant: &str,
                keys: &[(&str, String)],
                attempt: &str,
                at: i64,
            ) -> Result<(), StoreError> {
                let mut tx = begin_on(&self.pool).await?;
                for (kind, key) in keys {
                    sqlx::query(
                        "INSERT INTO shield_events (merchant, kind, key, declined, at, attempt) VALUES ($1, $2, $3, 1, $4, $5)",
                    )
                    .bind(merchant)
                    .bind(kind)
                    .bind(key)
                    .bind(at)
                    .bind(attempt)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn shield_settle(&self, attempt: &str, declined: Option<bool>) -> Result<(), StoreError> {
                match declined {
                    Some(declined) => {
                        sqlx::query("UPDATE shield_events SET declined = $1, attempt = NULL WHERE attempt = $2")
                            .bind(i64::from(declined))
                            .bind(attempt)
                            .execute(&self.pool)
                            .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM shield_events WHERE attempt = $1")
                            .bind(attempt)
                            .execute(&self.pool)
                            .await?;
                    }
                }
                Ok(())
            }

            async fn shield_counts(
                &self,
                merchant: &str,
                kind: &str,
                key: &str,
                since: i64,
            ) -> Result<(u32, u32), StoreError> {
                // SUM over a CASE: PostgreSQL's SUM of a BIGINT column is NUMERIC, of an INTEGER a BIGINT.
                let (attempts, declines): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN declined <> 0 THEN 1 ELSE 0 END), 0) FROM shield_events \
                     WHERE merchant = $1 AND kind = $2 AND key = $3 AND at >= $4",
                )
                .bind(merchant)
                .bind(kind)
                .bind(key)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
                Ok((n(attempts), n(declines)))
            }

            async fn shield_block(
                &self,
                merchant: &str,
                kind: &str,
                key: &str,
                until: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO shield_blocks (merchant, kind, key, until) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (merchant, kind, key) DO UPDATE SET until = CASE WHEN excluded.until > shield_blocks.until THEN excluded.until ELSE shield_blocks.until END",
                )
                .bind(merchant)
                .bind(kind)
                .bind(key)
                .bind(until)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn shield_blocked_until(
                &self,
                merchant: &str,
                keys: &[(&str, String)],
                now: i64,
            ) -> Result<Option<i64>, StoreError> {
                let mut latest: Option<i64> = None;
                for (kind, key) in keys {
                    let until: Option<i64> = sqlx::query_scalar(
                        "SELECT until FROM shield_blocks WHERE merchant = $1 AND kind = $2 AND key = $3 AND until > $4",
                    )
                    .bind(merchant)
                    .bind(kind)
                    .bind(key)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    latest = latest.max(until);
                }
                Ok(latest)
            }

            async fn shield_use_proof(&self, id: &str, expires: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO shield_proofs (id, expires) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                )
                .bind(id)
                .bind(expires)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn shield_attack(&self, campaign: &str) -> Result<Option<i64>, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT started FROM shield_attacks WHERE campaign = $1 AND ended IS NULL \
                     ORDER BY started DESC LIMIT 1",
                )
                .bind(campaign)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn shield_start_attack(&self, campaign: &str, at: i64) -> Result<bool, StoreError> {
                // A unique index over open periods (`ended IS NULL`): two hosts seeing the same spike
                // start one period, whichever inserts first.
                let done = sqlx::query(
                    "INSERT INTO shield_attacks (campaign, started) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(campaign)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn shield_end_attack(&self, campaign: &str, at: i64) -> Result<bool, StoreError> {
                let done =
                    sqlx::query("UPDATE shield_attacks SET ended = $1 WHERE campaign = $2 AND ended IS NULL")
                        .bind(at)
                        .bind(campaign)
                        .execute(&self.pool)
                        .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn shield_prune(&self, before: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM shield_events WHERE at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                sqlx::query("DELETE FROM shield_blocks WHERE until < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                sqlx::query("DELETE FROM shield_proofs WHERE expires < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl OutboxStore for $store {
            async fn claim_mail(
                &self,
                limit: u32,
                now: i64,
                lease_until: i64,
            ) -> Result<Vec<MailRow>, StoreError> {
                // A lease, not a lock held while sending: a relay that dies mid-send leaves its rows to
                // the next one after `lease_until`. $skip lets relays on other hosts pass rows being
                // claimed instead of waiting for them.
                let sql = format!(
                    "UPDATE mail_outbox SET lease_until = $1, attempts = attempts + 1 WHERE id IN \
                     (SELECT id FROM mail_outbox WHERE sent = 0 AND lease_until <= $2 AND next_try <= $2 \
                     ORDER BY next_try, id LIMIT $3{}) \
                     RETURNING id, session_id, to_addr, subject, body, attempts",
                    $skip
                );
                let rows = sqlx::query(&sql)
                    .bind(lease_until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut mail = rows
                    .iter()
                    .map(|r| {
                        Ok(MailRow {
                            id: r.try_get("id")?,
                            session_id: r.try_get("session_id")?,
                            to: r.try_get("to_addr")?,
                            subject: r.try_get("subject")?,
                            body: r.try_get("body")?,
                            attempts: r.try_get("attempts")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                mail.sort_by_key(|m| m.id);
                Ok(mail)
            }

            async fn mark_mail(&self, id: i64, state: MailState) -> Result<(), StoreError> {
                let (sent, next_try) = match state {
                    MailState::Sent => (1, 0),
                    MailState::Undeliverable => (-1, 0),
                    MailState::Retry { next_try } => (0, next_try),
                };
                // A retry gives the lease back and waits its turn: new mail goes first.
                sqlx::query("UPDATE mail_outbox SET sent = $1, lease_until = 0, next_try = $2 WHERE id = $3")
                    .bind(sent)
                    .bind(next_try)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl JobStore for $store {
            async fn setting_or_insert(&self, key: &str, default: &str) -> Result<String, StoreError> {
                sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(key)
                    .bind(default)
                    .execute(&self.pool)
                    .await?;
                Ok(
                    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_one(&self.pool)
                        .await?,
                )
            }

            async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn job_lock(&self, name: &str) -> Result<Option<JobGuard>, StoreError> {
                $store::lock_job(self, name).await
            }

            async fn claim_job(&self, name: &str, now: i64, every: i64) -> Result<bool, StoreError> {
                // One statement: of hosts racing for the period, one row update wins.
                let done = sqlx::query(
                    "INSERT INTO job_runs (name, last_run) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run \
                     WHERE job_runs.last_run <= $3",
                )
                .bind(name)
                .bind(now)
                .bind(now - every)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl DashboardStore for $store {
            async fn saved_filters(
                &self,
                merchant: &str,
                email: &str,
            ) -> Result<Vec<SavedFilter>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, merchant, email, name, query, created FROM saved_filters \
                     WHERE merchant = $1 AND email = $2 ORDER BY created, id",
                )
                .bind(merchant)
                .bind(email)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(SavedFilter {
                            id: r.try_get("id")?,
                            merchant: r.try_get("merchant")?,
                            email: r.try_get("email")?,
                            name: r.try_get("name")?,
                            query: r.try_get("query")?,
                            created: r.try_get("created")?,
                        })
                    })
                    .collect()
            }

            async fn save_filter(&self, f: &SavedFilter, max: i64) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO saved_filter_counts (merchant, email, used) VALUES ($1, $2, 0) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&f.merchant)
                .bind(&f.email)
                .execute(&mut *tx)
                .await?;
                // The counter's update locks its row: racing saves take turns, so the limit holds.
                let room = sqlx::query(
                    "UPDATE saved_filter_counts SET used = used + 1 \
                     WHERE merchant = $1 AND email = $2 AND used < $3",
                )
                .bind(&f.merchant)
                .bind(&f.email)
                .bind(max)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !room {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO saved_filters (id, merchant, email, name, query, created) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&f.id)
                .bind(&f.merchant)
                .bind(&f.email)
                .bind(&f.name)
                .bind(&f.query)
                .bind(f.created)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_filter(
                &self,
                merchant: &str,
                email: &str,
                id: &str,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let gone = sqlx::query(
                    "DELETE FROM saved_filters WHERE id = $1 AND merchant = $2 AND email = $3",
                )
                .bind(id)
                .bind(merchant)
                .bind(email)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if gone {
                    sqlx::query(
                        "UPDATE saved_filter_counts SET used = used - 1 \
                         WHERE merchant = $1 AND email = $2 AND used > 0",
                    )
                    .bind(merchant)
                    .bind(email)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(gone)
            }

            async fn payments(&self, q: &PaymentQuery) -> Result<Vec<SessionRow>, StoreError> {
                let mut b = sqlx::QueryBuilder::<$db>::new("SELECT * FROM sessions WHERE merchant = ");
                b.push_bind(q.merchant.clone());
                if let Some(status) = q.status {
                    b.push(" AND status = ").push_bind(status.as_str().to_owned());
                }
                if let Some(c) = &q.campaign {
                    b.push(" AND campaign = ").push_bind(c.clone());
                }
                if let Some(k) = q.kind {
                    b.push(" AND kind = ").push_bind(k.as_str().to_owned());
                }
                if let Some(c) = &q.currency {
                    b.push(" AND currency = ").push_bind(c.clone());
                }
                if let Some(n) = q.min_total {
                    b.push(" AND amount + fee >= ").push_bind(n);
                }
                if let Some(n) = q.max_total {
                    b.push(" AND amount + fee <= ").push_bind(n);
                }
                if let Some(t) = q.since {
                    b.push(" AND created >= ").push_bind(t);
                }
                if let Some(t) = q.until {
                    b.push(" AND created < ").push_bind(t);
                }
                match &q.search {
                    None => {}
                    Some(Search::Email(e)) => {
                        b.push(" AND lower(email) = ").push_bind(e.clone());
                    }
                    Some(Search::Session(id)) => {
                        b.push(" AND id = ").push_bind(id.clone());
                    }
                    Some(Search::PaymentIntent(pi)) => {
                        b.push(" AND payment_intent = ").push_bind(pi.clone());
                    }
                    Some(Search::Subscription(sub)) => {
                        b.push(" AND subscription_id = ").push_bind(sub.clone());
                    }
                    Some(Search::OrderRef(r)) => {
                        b.push(" AND id IN (SELECT session_id FROM fulfilments WHERE order_ref = ")
                            .push_bind(r.clone());
                        b.push(")");
                    }
                    Some(Search::LicenceKey(k)) => {
                        b.push(" AND id IN (SELECT session_id FROM fulfilments WHERE license_key = ")
                            .push_bind(k.clone());
                        b.push(")");
                    }
                    Some(Search::Receipt(n)) => {
                        b.push(" AND (id IN (SELECT session_id FROM fulfilments WHERE receipt_number = ")
                            .push_bind(n.clone());
                        b.push(") OR id IN (SELECT session_id FROM invoices WHERE receipt_number = ")
                            .push_bind(n.clone());
                        b.push("))");
                    }
                    Some(Search::Name(part)) => {
                        // `%` and `_` typed by staff are literal.
                        let like = format!(
                            "%{}%",
                            part.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                        );
                        b.push(" AND lower(coalesce(name, '')) LIKE ").push_bind(like);
                        b.push(" ESCAPE '\\'");
                    }
                }
                if let Some((created, id)) = &q.before {
                    b.push(" AND (created < ").push_bind(*created);
                    b.push(" OR (created = ").push_bind(*created);
                    b.push(" AND id < ").push_bind(id.clone());
                    b.push("))");
                }
                b.push(" ORDER BY created DESC, id DESC LIMIT ")
                    .push_bind(i64::from(q.limit.clamp(1, 10_000)));
                let rows = b.build().fetch_all(&self.pool).await?;
                rows.iter().map(session_row).collect()
            }

            async fn day_totals(
                &self,
                merchant: &str,
                since: i64,
                until: i64,
                bucket: i64,
            ) -> Result<Vec<DayTotal>, StoreError> {
                let rows = sqlx::query(
                    "SELECT CAST((created - $2) / $4 * $4 + $2 AS BIGINT) AS day, currency, COUNT(*) AS n, \
                     CAST(SUM(amount + fee) AS BIGINT) AS gross, CAST(SUM(amount_refunded) AS BIGINT) AS refunded FROM sessions \
                     WHERE merchant = $1 AND created >= $2 AND created < $3 \
                     AND status IN ('paid', 'fulfilled', 'refunded', 'disputed') \
                     GROUP BY (created - $2) / $4, currency ORDER BY day, currency",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .bind(bucket.max(1))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(DayTotal {
                            day: r.try_get("day")?,
                            currency: r.try_get("currency")?,
                            payments: r.try_get("n")?,
                            gross: r.try_get::<Option<i64>, _>("gross")?.unwrap_or(0),
                            refunded: r.try_get::<Option<i64>, _>("refunded")?.unwrap_or(0),
                        })
                    })
                    .collect()
            }

            async fn funnel(&self, merchant: &str, since: i64, until: i64) -> Result<Funnel, StoreError> {
                let r = sqlx::query(
                    "SELECT COUNT(*) AS sessions, \
                     CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM pay_attempts a WHERE a.session_id = s.id) THEN 1 ELSE 0 END), 0) AS BIGINT) AS attempted, \
                     CAST(COALESCE(SUM(CASE WHEN s.status IN ('paid', 'fulfilled', 'refunded', 'disputed') THEN 1 ELSE 0 END), 0) AS BIGINT) AS paid, \
                     CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM fulfilments f WHERE f.session_id = s.id) THEN 1 ELSE 0 END), 0) AS BIGINT) AS fulfilled \
                     FROM sessions s WHERE s.merchant = $1 AND s.created >= $2 AND s.created < $3",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .fetch_one(&self.pool)
                .await?;
                Ok(Funnel {
                    sessions: r.try_get("sessions")?,
                    attempted: r.try_get("attempted")?,
                    paid: r.try_get("paid")?,
                    fulfilled: r.try_get("fulfilled")?,
                })
            }

            async fn decline_counts(
                &self,
                merchant: &str,
                since: i64,
                until: i64,
            ) -> Result<Vec<(String, i64)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT decline_code, COUNT(*) AS n FROM sessions WHERE merchant = $1 \
                     AND created >= $2 AND created < $3 AND decline_code IS NOT NULL \
                     GROUP BY decline_code ORDER BY n DESC, decline_code",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("decline_code")?, r.try_get("n")?)))
                    .collect()
            }

            async fn audit_append(&self, e: &AuditEntry) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO audit_log (merchant, session_id, actor, action, detail, at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&e.merchant)
                .bind(&e.session_id)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.detail)
                .bind(e.at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit_of(&self, session: &str) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT merchant, session_id, actor, action, detail, at FROM audit_log \
                     WHERE session_id = $1 ORDER BY at, id",
                )
                .bind(session)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditEntry {
                            merchant: r.try_get("merchant")?,
                            session_id: r.try_get("session_id")?,
                            actor: r.try_get("actor")?,
                            action: r.try_get("action")?,
                            detail: r.try_get("detail")?,
                            at: r.try_get("at")?,
                        })
                    })
                    .collect()
            }

            async fn attempts_of(&self, session: &str) -> Result<Vec<AttemptLine>, StoreError> {
                let rows = sqlx::query(
                    "SELECT client_key, outcome, created FROM pay_attempts WHERE session_id = $1 \
                     ORDER BY created, client_key",
                )
                .bind(session)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AttemptLine {
                            key: r.try_get("client_key")?,
                            outcome: r.try_get("outcome")?,
                            created: r.try_get("created")?,
                        })
                    })
                    .collect()
            }

            async fn attack_periods(
                &self,
                campaigns: &[String],
                since: i64,
                until: i64,
            ) -> Result<Vec<(String, i64, Option<i64>)>, StoreError> {
                if campaigns.is_empty() {
                    return Ok(Vec::new());
                }
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "SELECT campaign, started, ended FROM shield_attacks WHERE started < ",
                );
                b.push_bind(until);
                b.push(" AND (ended IS NULL OR ended >= ").push_bind(since);
                b.push(") AND campaign IN (");
                let mut list = b.separated(", ");
                for c in campaigns {
                    list.push_bind(c.clone());
                }
                b.push(") ORDER BY started");
                let rows = b.build().fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("campaign")?, r.try_get("started")?, r.try_get("ended")?)))
                    .collect()
            }

            async fn blocked_now(&self, merchant: &str, now: i64) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM shield_blocks WHERE merchant = $1 AND until > $2",
                )
                .bind(merchant)
                .bind(now)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn dunning(
                &self,
                merchant: &str,
                since: i64,
                until: i64,
            ) -> Result<(i64, i64), StoreError> {
                let r = sqlx::query(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS failed, \
                     CAST(COALESCE(SUM(CASE WHEN recovered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS recovered \
                     FROM renewal_failures WHERE merchant = $1 AND failed_at >= $2 AND failed_at < $3",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .fetch_one(&self.pool)
                .await?;
                Ok((r.try_get("failed")?, r.try_get("recovered")?))
            }

            async fn recurring_figures(
                &self,
                merchant: &str,
                since: i64,
                until: i64,
            ) -> Result<Vec<RecurringFigures>, StoreError> {
                // A yearly amount counts a twelfth (integer division per gift, as the
                // dashboard's gifts page does).
                let rows = sqlx::query(
                    "SELECT currency, \
                     CAST(COALESCE(SUM(at_start), 0) AS BIGINT) AS active_at_start, \
                     CAST(COALESCE(SUM(at_start * monthly), 0) AS BIGINT) AS mrr_at_start, \
                     CAST(COALESCE(SUM(churned), 0) AS BIGINT) AS churned, \
                     CAST(COALESCE(SUM(churned * monthly), 0) AS BIGINT) AS churned_mrr, \
                     CAST(COALESCE(SUM(live), 0) AS BIGINT) AS active_now, \
                     CAST(COALESCE(SUM(live * monthly), 0) AS BIGINT) AS mrr_now \
                     FROM (SELECT currency, \
                       CASE WHEN frequency = 'yearly' THEN COALESCE(next_amount, amount) / 12 ELSE COALESCE(next_amount, amount) END AS monthly, \
                       CASE WHEN created < $2 AND (subscription_ended IS NULL OR subscription_ended >= $2) THEN 1 ELSE 0 END AS at_start, \
                       CASE WHEN created < $2 AND subscription_ended >= $2 AND subscription_ended < $3 THEN 1 ELSE 0 END AS churned, \
                       CASE WHEN created < $3 AND (subscription_ended IS NULL OR subscription_ended >= $3) THEN 1 ELSE 0 END AS live \
                       FROM sessions WHERE merchant = $1 AND subscription_id IS NOT NULL \
                       AND subscription_status IS NOT NULL \
                       AND subscription_status NOT IN ('incomplete', 'incomplete_expired')) AS r \
                     GROUP BY currency ORDER BY currency",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(RecurringFigures {
                            currency: r.try_get("currency")?,
                            active_at_start: r.try_get("active_at_start")?,
                            mrr_at_start: r.try_get("mrr_at_start")?,
                            churned: r.try_get("churned")?,
                            churned_mrr: r.try_get("churned_mrr")?,
                            active_now: r.try_get("active_now")?,
                            mrr_now: r.try_get("mrr_now")?,
                        })
                    })
                    .collect()
            }

            async fn recovered(
                &self,
                merchant: &str,
                since: i64,
                until: i64,
            ) -> Result<Vec<(String, i64, i64)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT s.currency AS currency, CAST(COUNT(*) AS BIGINT) AS n, \
                     CAST(COALESCE(SUM(f.amount), 0) AS BIGINT) AS amount \
                     FROM renewal_failures f JOIN sessions s ON s.id = f.session_id \
                     WHERE f.merchant = $1 AND f.recovered_at >= $2 AND f.recovered_at < $3 \
                     GROUP BY s.currency ORDER BY s.currency",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("currency")?, r.try_get("n")?, r.try_get("amount")?)))
                    .collect()
            }

            async fn donors(
                &self,
                merchant: &str,
                prev: i64,
                since: i64,
                until: i64,
            ) -> Result<(i64, i64, i64), StoreError> {
                let r = sqlx::query(
                    "SELECT \
                     CAST(COALESCE(SUM(CASE WHEN first_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS fresh, \
                     CAST(COALESCE(SUM(CASE WHEN in_prev = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS retained, \
                     CAST(COALESCE(SUM(CASE WHEN first_at < $3 AND in_prev = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS back \
                     FROM (SELECT lower(email) AS donor, MIN(created) AS first_at, \
                     MAX(CASE WHEN created >= $3 AND created < $2 THEN 1 ELSE 0 END) AS in_prev, \
                     MAX(CASE WHEN created >= $2 AND created < $4 THEN 1 ELSE 0 END) AS in_range \
                     FROM sessions WHERE merchant = $1 AND kind = 'donation' AND email IS NOT NULL \
                     AND status IN ('paid', 'fulfilled') AND created < $4 GROUP BY lower(email)) d \
                     WHERE in_range = 1",
                )
                .bind(merchant)
                .bind(since)
                .bind(prev)
                .bind(until)
                .fetch_one(&self.pool)
                .await?;
                Ok((r.try_get("fresh")?, r.try_get("retained")?, r.try_get("back")?))
            }

            async fn hooks_of(
                &self,
                session: &str,
            ) -> Result<Vec<(i64, String, i64, i64, i64)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT m.created, m.kind, \
                     CAST(COALESCE(SUM(CASE WHEN d.state = 'delivered' THEN 1 ELSE 0 END), 0) AS BIGINT) AS delivered, \
                     CAST(COALESCE(SUM(CASE WHEN d.state = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
                     CAST(COALESCE(SUM(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed \
                     FROM hook_messages m LEFT JOIN hook_deliveries d ON d.message = m.id \
                     WHERE m.session = $1 GROUP BY m.id, m.created, m.kind ORDER BY m.created",
                )
                .bind(session)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("created")?,
                            r.try_get("kind")?,
                            r.try_get("delivered")?,
                            r.try_get("pending")?,
                            r.try_get("failed")?,
                        ))
                    })
                    .collect()
            }

            async fn note_webhook(&self, at: i64, received: bool, late: i64) -> Result<(), StoreError> {
                let late = late.max(0);
                sqlx::query(
                    "INSERT INTO webhook_stats (hour, received, rejected, delay_total, delay_max, last_at) \
                     VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (hour) DO UPDATE SET \
                     received = webhook_stats.received + excluded.received, \
                     rejected = webhook_stats.rejected + excluded.rejected, \
                     delay_total = webhook_stats.delay_total + excluded.delay_total, \
                     delay_max = CASE WHEN excluded.delay_max > webhook_stats.delay_max \
                     THEN excluded.delay_max ELSE webhook_stats.delay_max END, \
                     last_at = CASE WHEN excluded.last_at > webhook_stats.last_at \
                     THEN excluded.last_at ELSE webhook_stats.last_at END",
                )
                .bind(at.div_euclid(3600))
                .bind(i64::from(received))
                .bind(i64::from(!received))
                .bind(if received { late } else { 0 })
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn webhook_hours(&self, since_hour: i64) -> Result<Vec<WebhookHour>, StoreError> {
                let rows = sqlx::query("SELECT * FROM webhook_stats WHERE hour >= $1 ORDER BY hour")
                    .bind(since_hour)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(WebhookHour {
                            hour: r.try_get("hour")?,
                            received: r.try_get("received")?,
                            rejected: r.try_get("rejected")?,
                            delay_total: r.try_get("delay_total")?,
                            delay_max: r.try_get("delay_max")?,
                            last_at: r.try_get("last_at")?,
                        })
                    })
                    .collect()
            }

            async fn paid_unfulfilled(
                &self,
                merchant: &str,
                since: i64,
                until: i64,
            ) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sessions WHERE merchant = $1 AND status = 'paid' \
                     AND created >= $2 AND created < $3",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn recurring(&self, merchant: &str, limit: u32) -> Result<Vec<SessionRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM sessions WHERE merchant = $1 AND subscription_id IS NOT NULL \
                     ORDER BY created DESC LIMIT $2",
                )
                .bind(merchant)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(session_row).collect()
            }

            async fn disputes(&self, merchant: &str, limit: u32) -> Result<Vec<DisputeRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM disputes WHERE merchant = $1 \
                     ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, created DESC LIMIT $2",
                )
                .bind(merchant)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(dispute_row).collect()
            }

            async fn dispute(&self, merchant: &str, id: &str) -> Result<Option<DisputeRow>, StoreError> {
                sqlx::query("SELECT * FROM disputes WHERE id = $1 AND merchant = $2")
                    .bind(id)
                    .bind(merchant)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(dispute_row)
                    .transpose()
            }

            async fn disputes_opened(
                &self,
                merchant: &str,
                since: i64,
                until: i64,
            ) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM disputes WHERE merchant = $1 AND created >= $2 AND created < $3",
                )
                .bind(merchant)
                .bind(since)
                .bind(until)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn recent_mail(&self, limit: u32) -> Result<Vec<(MailLine, String)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT to_addr, subject, body, created, sent FROM mail_outbox \
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            MailLine {
                                to: r.try_get("to_addr")?,
                                subject: r.try_get("subject")?,
                                created: r.try_get("created")?,
                                sent: r.try_get("sent")?,
                            },
                            r.try_get("body")?,
                        ))
                    })
                    .collect()
            }

            async fn mails_of(&self, session: &str) -> Result<Vec<MailLine>, StoreError> {
                let rows = sqlx::query(
                    "SELECT to_addr, subject, created, sent FROM mail_outbox WHERE session_id = $1 \
                     ORDER BY created, id",
                )
                .bind(session)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(MailLine {
                            to: r.try_get("to_addr")?,
                            subject: r.try_get("subject")?,
                            created: r.try_get("created")?,
                            sent: r.try_get("sent")?,
                        })
                    })
                    .collect()
            }
        }

        fn dispute_row(r: &<$db as sqlx::Database>::Row) -> Result<DisputeRow, StoreError> {
            Ok(DisputeRow {
                id: r.try_get("id")?,
                merchant: r.try_get("merchant")?,
                session_id: r.try_get("session_id")?,
                amount: r.try_get("amount")?,
                currency: r.try_get("currency")?,
                reason: r.try_get("reason")?,
                status: r.try_get("status")?,
                due_by: r.try_get("due_by")?,
                created: r.try_get("created")?,
            })
        }

        fn hook_endpoint_row(r: &<$db as sqlx::Database>::Row) -> Result<HookEndpoint, StoreError> {
            Ok(HookEndpoint {
                id: r.try_get("id")?,
                merchant: r.try_get("merchant")?,
                url: r.try_get("url")?,
                events: r.try_get("events")?,
                salt: r.try_get("salt")?,
                old_salt: r.try_get("old_salt")?,
                old_until: r.try_get("old_until")?,
                created: r.try_get("created")?,
                failing_since: r.try_get("failing_since")?,
                disabled: r.try_get("disabled")?,
                disabled_reason: r.try_get("disabled_reason")?,
            })
        }

        #[async_trait]
        impl HookStore for $store {
            async fn insert_hook_endpoint(&self, e: &HookEndpoint) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO hook_endpoints (id, merchant, url, events, salt, created) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&e.id)
                .bind(&e.merchant)
                .bind(&e.url)
                .bind(&e.events)
                .bind(&e.salt)
                .bind(e.created)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn hook_endpoints(&self, merchant: &str) -> Result<Vec<HookEndpoint>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM hook_endpoints WHERE merchant = $1 ORDER BY created, id",
                )
                .bind(merchant)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(hook_endpoint_row).collect()
            }

            async fn hook_endpoint(
                &self,
                merchant: &str,
                id: &str,
            ) -> Result<Option<HookEndpoint>, StoreError> {
                let row = sqlx::query("SELECT * FROM hook_endpoints WHERE id = $1 AND merchant = $2")
                    .bind(id)
                    .bind(merchant)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(hook_endpoint_row).transpose()
            }

            async fn rotate_hook_secret(
                &self,
                merchant: &str,
                id: &str,
                salt: &str,
                old_until: i64,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE hook_endpoints SET old_salt = salt, old_until = $1, salt = $2 \
                     WHERE id = $3 AND merchant = $4",
                )
                .bind(old_until)
                .bind(salt)
                .bind(id)
                .bind(merchant)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_hook_endpoint_enabled(
                &self,
                merchant: &str,
                id: &str,
                off_because: Option<&str>,
                now: i64,
            ) -> Result<bool, StoreError> {
                let r = match off_because {
                    None => sqlx::query(
                        "UPDATE hook_endpoints SET disabled = NULL, disabled_reason = NULL, \
                         failing_since = NULL WHERE id = $1 AND merchant = $2",
                    )
                    .bind(id)
                    .bind(merchant)
                    .execute(&self.pool)
                    .await?,
                    Some(reason) => sqlx::query(
                        "UPDATE hook_endpoints SET disabled = $1, disabled_reason = $2 \
                         WHERE id = $3 AND merchant = $4",
                    )
                    .bind(now)
                    .bind(reason)
                    .bind(id)
                    .bind(merchant)
                    .execute(&self.pool)
                    .await?,
                };
                Ok(r.rows_affected() == 1)
            }

            async fn claim_hooks(
                &self,
                limit: u32,
                now: i64,
                lease_until: i64,
            ) -> Result<Vec<HookDue>, StoreError> {
                // A lease as the mail outbox's: the due time moves to the lease's end, so a
                // relay that dies mid-send leaves the delivery to the next one after it.
                let sql = format!(
                    "UPDATE hook_deliveries SET next_at = $1, attempts = attempts + 1 WHERE id IN \
                     (SELECT d.id FROM hook_deliveries d WHERE d.state = 'pending' AND d.next_at <= $2 \
                     AND d.endpoint IN (SELECT e.id FROM hook_endpoints e WHERE e.disabled IS NULL) \
                     ORDER BY d.next_at, d.id LIMIT $3{}) RETURNING id",
                    $skip
                );
                let ids: Vec<i64> = sqlx::query_scalar(&sql)
                    .bind(lease_until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "SELECT d.id AS delivery, d.message, d.endpoint, d.attempts, m.payload, \
                     e.merchant, e.url, e.salt, e.old_salt, e.old_until \
                     FROM hook_deliveries d JOIN hook_messages m ON m.id = d.message \
                     JOIN hook_endpoints e ON e.id = d.endpoint WHERE d.id IN (",
                );
                let mut list = b.separated(", ");
                for id in &ids {
                    list.push_bind(*id);
                }
                b.push(") ORDER BY d.id");
                let rows = b.build().fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok(HookDue {
                            message: r.try_get("message")?,
                            endpoint: r.try_get("endpoint")?,
                            merchant: r.try_get("merchant")?,
                            url: r.try_get("url")?,
                            salt: r.try_get("salt")?,
                            old_salt: r.try_get("old_salt")?,
                            old_until: r.try_get("old_until")?,
                            payload: r.try_get("payload")?,
                            attempts: r.try_get("attempts")?,
                        })
                    })
                    .collect()
            }

            async fn finish_hook(
                &self,
                a: &HookAttempt,
                outcome: HookOutcome,
                now: i64,
            ) -> Result<Option<i64>, StoreError> {
                let mut tx = begin_on(&self.pool).await?;
                sqlx::query(
                    "INSERT INTO hook_attempts (message, endpoint, at, status, latency_ms, error, response) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&a.message)
                .bind(&a.endpoint)
                .bind(a.at)
                .bind(a.status)
                .bind(a.latency_ms)
                .bind(&a.error)
                .bind(&a.response)
                .execute(&mut *tx)
                .await?;
                let (state, next_at) = match outcome {
                    HookOutcome::Delivered => ("delivered", now),
                    HookOutcome::Retry { at } => ("pending", at),
                    HookOutcome::Failed => ("failed", now),
                };
                sqlx::query(
                    "UPDATE hook_deliveries SET state = $1, next_at = $2 WHERE message = $3 AND endpoint = $4",
                )
                .bind(state)
                .bind(next_at)
                .bind(&a.message)
                .bind(&a.endpoint)
                .execute(&mut *tx)
                .await?;
                if outcome == HookOutcome::Delivered {
                    sqlx::query("UPDATE hook_endpoints SET failing_since = NULL WHERE id = $1")
                        .bind(&a.endpoint)
                        .execute(&mut *tx)
                        .await?;
                } else {
                    sqlx::query(
                        "UPDATE hook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2",
                    )
                    .bind(now)
                    .bind(&a.endpoint)
                    .execute(&mut *tx)
                    .await?;
                }
                let since: Option<Option<i64>> =
                    sqlx::query_scalar("SELECT failing_since FROM hook_endpoints WHERE id = $1")
                        .bind(&a.endpoint)
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(since.flatten())
            }

            async fn hook_log(&self, endpoint: &str, limit: u32) -> Result<Vec<HookLogLine>, StoreError> {
                let rows = sqlx::query(
                    "SELECT a.message, a.endpoint, a.at, a.status, a.latency_ms, a.error, a.response, \
                     m.kind, d.state FROM hook_attempts a JOIN hook_messages m ON m.id = a.message \
                     JOIN hook_deliveries d ON d.message = a.message AND d.endpoint = a.endpoint \
                     WHERE a.endpoint = $1 ORDER BY a.id DESC LIMIT $2",
                )
                .bind(endpoint)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(HookLogLine {
                            attempt: HookAttempt {
                                message: r.try_get("message")?,
                                endpoint: r.try_get("endpoint")?,
                                at: r.try_get("at")?,
                                status: r.try_get("status")?,
                                latency_ms: r.try_get("latency_ms")?,
                                error: r.try_get("error")?,
                                response: r.try_get("response")?,
                            },
                            kind: r.try_get("kind")?,
                            state: r.try_get("state")?,
                        })
                    })
                    .collect()
            }

            async fn replay_hook(
                &self,
                merchant: &str,
                endpoint: &str,
                message: &str,
                now: i64,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO hook_deliveries (message, endpoint, state, attempts, next_at) \
                     SELECT m.id, e.id, 'pending', 0, $1 FROM hook_messages m, hook_endpoints e \
                     WHERE m.id = $2 AND e.id = $3 AND m.merchant = $4 AND e.merchant = $4 \
                     ON CONFLICT (message, endpoint) DO UPDATE SET state = 'pending', attempts = 0, \
                     next_at = excluded.next_at",
                )
                .bind(now)
                .bind(message)
                .bind(endpoint)
                .bind(merchant)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn replay_hooks_since(
                &self,
                merchant: &str,
                endpoint: &str,
                since: i64,
                now: i64,
            ) -> Result<u64, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO hook_deliveries (message, endpoint, state, attempts, next_at) \
                     SELECT m.id, e.id, 'pending', 0, $1 FROM hook_messages m, hook_endpoints e \
                     WHERE e.id = $2 AND e.merchant = $3 AND m.merchant = $3 AND m.created >= $4 \
                     AND m.kind <> 'webhook.test' \
                     AND (e.events = '*' OR e.events LIKE '% ' || m.kind || ' %') \
                     ON CONFLICT (message, endpoint) DO UPDATE SET state = 'pending', attempts = 0, \
                     next_at = excluded.next_at",
                )
                .bind(now)
                .bind(endpoint)
                .bind(merchant)
                .bind(since)
                .execute(&self.pool)
                .await?;
                Ok(r.rows_affected())
            }
        }

        #[async_trait]
        impl RateStore for $store {
            async fn count_hit(&self, key: &str, expires: i64) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO counters (key, hits, expires) VALUES ($1, 1, $2) \
                     ON CONFLICT (key) DO UPDATE SET hits = counters.hits + 1 RETURNING hits",
                )
                .bind(key)
                .bind(expires)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn counter_value(&self, key: &str, now: i64) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar::<_, i64>(
                    "SELECT hits FROM counters WHERE key = $1 AND expires >= $2",
                )
                .bind(key)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0))
            }

            async fn counters_prune(&self, now: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM counters WHERE expires < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn rate_hit(&self, key: &str, bucket: i64) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO rate_hits (key, bucket, hits) VALUES ($1, $2, 1) \
                     ON CONFLICT (key, bucket) DO UPDATE SET hits = rate_hits.hits + 1 RETURNING hits",
                )
                .bind(key)
                .bind(bucket)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn rate_count(&self, key: &str, bucket: i64) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar::<_, i64>(
                    "SELECT hits FROM rate_hits WHERE key = $1 AND bucket = $2",
                )
                .bind(key)
                .bind(bucket)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0))
            }

            async fn rate_prune(&self, bucket: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM rate_hits WHERE bucket < $1")
                    .bind(bucket)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        /// A transaction.
        struct $tx(sqlx::Transaction<'static, $db>);

        #[async_trait]
        impl StoreTx for $tx {
            async fn session_id_by_subscription(
                &mut self,
                subscription: &str,
            ) -> Result<Option<String>, StoreError> {
                Ok(
                    sqlx::query_scalar("SELECT id FROM sessions WHERE subscription_id = $1")
                        .bind(subscription)
                        .fetch_optional(&mut *self.0)
                        .await?,
                )
            }

            async fn insert_invoice(&mut self, i: &InvoiceRow) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO invoices (invoice_id, session_id, billing_reason, amount, receipt_number, period_end, created) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (invoice_id) DO NOTHING",
                )
                .bind(&i.invoice_id)
                .bind(&i.session_id)
                .bind(&i.billing_reason)
                .bind(i.amount)
                .bind(&i.receipt_number)
                .bind(i.period_end)
                .bind(i.created)
                .execute(&mut *self.0)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn extend_paid_until(&mut self, session: &str, until: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE fulfilments SET paid_until = $1 WHERE session_id = $2 AND (paid_until IS NULL OR paid_until < $1)",
                )
                .bind(until)
                .bind(session)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn set_invoice_receipt(&mut self, invoice: &str, number: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE invoices SET receipt_number = $1 WHERE invoice_id = $2")
                    .bind(number)
                    .bind(invoice)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn set_subscription_status(
                &mut self,
                session: &str,
                status: SubscriptionStatus,
                now: i64,
            ) -> Result<(), StoreError> {
                // `canceled` and `incomplete_expired` are final (`SubscriptionStatus::is_final`):
                // a late `updated` never revives them. A cancellation is dated (churn).
                let ended = (status == SubscriptionStatus::Canceled).then_some(now);
                sqlx::query(
                    "UPDATE sessions SET subscription_status = $1, subscription_ended = $3 WHERE id = $2 AND \
                     (subscription_status IS NULL OR subscription_status NOT IN ('canceled', 'incomplete_expired'))",
                )
                    .bind(status.as_str())
                    .bind(session)
                    .bind(ended)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn record_event(&mut self, id: &str, kind: &str, now: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO webhook_events (id, type, received) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(kind)
                .bind(now)
                .execute(&mut *self.0)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn session_id_by_payment_intent(
                &mut self,
                payment_intent: &str,
            ) -> Result<Option<String>, StoreError> {
                Ok(
                    sqlx::query_scalar("SELECT id FROM sessions WHERE payment_intent = $1")
                        .bind(payment_intent)
                        .fetch_optional(&mut *self.0)
                        .await?,
                )
            }

            async fn session(&mut self, id: &str) -> Result<Option<SessionRow>, StoreError> {
                select_session(&mut *self.0, id).await
            }

            async fn advance(
                &mut self,
                id: &str,
                status: SessionStatus,
                now: i64,
            ) -> Result<bool, StoreError> {
                advance_on(&mut *self.0, id, status, now).await
            }

            async fn set_payment_intent(
                &mut self,
                id: &str,
                payment_intent: &str,
            ) -> Result<(), StoreError> {
                set_payment_intent_on(&mut *self.0, id, payment_intent).await
            }

            async fn set_decline(
                &mut self,
                id: &str,
                code: &DeclineCode,
                message: &str,
            ) -> Result<(), StoreError> {
                set_decline_on(&mut *self.0, id, code, message).await
            }

            async fn record_refund(&mut self, id: &str, amount_refunded: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET amount_refunded = CASE WHEN amount_refunded > $1 THEN amount_refunded ELSE $1 END WHERE id = $2")
                    .bind(amount_refunded)
                    .bind(id)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn insert_fulfilment(
                &mut self,
                session: &str,
                kind: CampaignKind,
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO fulfilments (session_id, kind, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(session)
                .bind(kind.as_str())
                .bind(now)
                .execute(&mut *self.0)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_licence_key(&mut self, session: &str, key: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE fulfilments SET license_key = $1 WHERE session_id = $2")
                    .bind(key)
                    .bind(session)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn next_receipt_number(&mut self, merchant: &str) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO receipt_counters (merchant, last) VALUES ($1, 1) \
                     ON CONFLICT (merchant) DO UPDATE SET last = receipt_counters.last + 1 RETURNING last",
                )
                .bind(merchant)
                .fetch_one(&mut *self.0)
                .await?)
            }

            async fn set_receipt_number(&mut self, session: &str, number: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE fulfilments SET receipt_number = $1 WHERE session_id = $2")
                    .bind(number)
                    .bind(session)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn revoke(&mut self, session: &str, reason: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE fulfilments SET revoked = 1, revoked_reason = $1 WHERE session_id = $2")
                    .bind(reason)
                    .bind(session)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn attack_running(&mut self, campaign: &str) -> Result<bool, StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM shield_attacks WHERE campaign = $1 AND ended IS NULL",
                )
                .bind(campaign)
                .fetch_one(&mut *self.0)
                .await?;
                Ok(n > 0)
            }

            async fn set_order_ref(&mut self, session: &str, order_ref: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE fulfilments SET order_ref = $1 WHERE session_id = $2")
                    .bind(order_ref)
                    .bind(session)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn invoice_session(&mut self, invoice: &str) -> Result<Option<String>, StoreError> {
                Ok(sqlx::query_scalar("SELECT session_id FROM invoices WHERE invoice_id = $1")
                    .bind(invoice)
                    .fetch_optional(&mut *self.0)
                    .await?)
            }

            async fn reverse_invoice(&mut self, invoice: &str, reason: Option<&str>) -> Result<(), StoreError> {
                match reason {
                    Some(reason) => {
                        // A refund is final; a dispute does not overwrite it.
                        sqlx::query("UPDATE invoices SET reversed = $1 WHERE invoice_id = $2 AND (reversed IS NULL OR reversed = 'disputed')")
                            .bind(reason)
                            .bind(invoice)
                            .execute(&mut *self.0)
                            .await?;
                    }
                    None => {
                        sqlx::query("UPDATE invoices SET reversed = NULL WHERE invoice_id = $1 AND reversed = 'disputed'")
                            .bind(invoice)
                            .execute(&mut *self.0)
                            .await?;
                    }
                }
                Ok(())
            }

            async fn reverse_first_invoice(&mut self, session: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE invoices SET reversed = 'refunded' WHERE session_id = $1 \
                     AND billing_reason = 'subscription_create' AND (reversed IS NULL OR reversed = 'disputed')",
                )
                .bind(session)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn settle_paid_until(&mut self, session: &str) -> Result<Option<i64>, StoreError> {
                let until: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(period_end) FROM invoices WHERE session_id = $1 AND reversed IS NULL",
                )
                .bind(session)
                .fetch_one(&mut *self.0)
                .await?;
                sqlx::query("UPDATE fulfilments SET paid_until = $1 WHERE session_id = $2")
                    .bind(until)
                    .bind(session)
                    .execute(&mut *self.0)
                    .await?;
                Ok(until)
            }

            async fn reinstate(&mut self, session: &str, reason: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE fulfilments SET revoked = 0, revoked_reason = NULL WHERE session_id = $1 AND revoked_reason = $2")
                    .bind(session)
                    .bind(reason)
                    .execute(&mut *self.0)
                    .await?;
                Ok(())
            }

            async fn queue_mail(&mut self, m: &NewMail) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO mail_outbox (session_id, to_addr, subject, body, created) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&m.session_id)
                .bind(&m.to)
                .bind(&m.subject)
                .bind(&m.body)
                .bind(m.created)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn queue_hook(&mut self, h: &NewHook, only: Option<&str>) -> Result<u64, StoreError> {
                sqlx::query(
                    "INSERT INTO hook_messages (id, merchant, kind, session, payload, created) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&h.id)
                .bind(&h.merchant)
                .bind(&h.kind)
                .bind(&h.session)
                .bind(&h.payload)
                .bind(h.created)
                .execute(&mut *self.0)
                .await?;
                let r = match only {
                    Some(endpoint) => sqlx::query(
                        "INSERT INTO hook_deliveries (message, endpoint, state, attempts, next_at) \
                         SELECT $1, id, 'pending', 0, $2 FROM hook_endpoints WHERE id = $3 AND merchant = $4",
                    )
                    .bind(&h.id)
                    .bind(h.created)
                    .bind(endpoint)
                    .bind(&h.merchant)
                    .execute(&mut *self.0)
                    .await?,
                    None => sqlx::query(
                        "INSERT INTO hook_deliveries (message, endpoint, state, attempts, next_at) \
                         SELECT $1, id, 'pending', 0, $2 FROM hook_endpoints WHERE merchant = $3 \
                         AND disabled IS NULL AND (events = '*' OR events LIKE $4)",
                    )
                    .bind(&h.id)
                    .bind(h.created)
                    .bind(&h.merchant)
                    .bind(format!("% {} %", h.kind))
                    .execute(&mut *self.0)
                    .await?,
                };
                Ok(r.rows_affected())
            }

            async fn upsert_dispute(&mut self, d: &DisputeRow) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO disputes (id, merchant, session_id, amount, currency, reason, status, due_by, created) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
                     due_by = COALESCE(excluded.due_by, disputes.due_by)",
                )
                .bind(&d.id)
                .bind(&d.merchant)
                .bind(&d.session_id)
                .bind(d.amount)
                .bind(&d.currency)
                .bind(&d.reason)
                .bind(&d.status)
                .bind(d.due_by)
                .bind(d.created)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn claim_dispute_reminders(
                &mut self,
                before: i64,
            ) -> Result<Vec<DisputeRow>, StoreError> {
                let rows = sqlx::query(
                    "UPDATE disputes SET reminded = 1 WHERE reminded = 0 AND status = 'open' \
                     AND due_by IS NOT NULL AND due_by <= $1 RETURNING *",
                )
                .bind(before)
                .fetch_all(&mut *self.0)
                .await?;
                rows.iter().map(dispute_row).collect()
            }

            async fn note_renewal_failed(
                &mut self,
                invoice: &str,
                session: &SessionRow,
                amount: i64,
                at: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO renewal_failures (invoice_id, session_id, merchant, amount, failed_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (invoice_id) DO NOTHING",
                )
                .bind(invoice)
                .bind(&session.id)
                .bind(&session.merchant)
                .bind(amount)
                .bind(at)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn note_invoice_paid(&mut self, invoice: &str, at: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE renewal_failures SET recovered_at = $1 WHERE invoice_id = $2 AND recovered_at IS NULL",
                )
                .bind(at)
                .bind(invoice)
                .execute(&mut *self.0)
                .await?;
                Ok(())
            }

            async fn disable_hook_endpoint(
                &mut self,
                id: &str,
                reason: &str,
                now: i64,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE hook_endpoints SET disabled = $1, disabled_reason = $2 \
                     WHERE id = $3 AND disabled IS NULL",
                )
                .bind(now)
                .bind(reason)
                .bind(id)
                .execute(&mut *self.0)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn commit(self: Box<Self>) -> Result<(), StoreError> {
                self.0.commit().await?;
                Ok(())
            }
        }
    };
}

pub(super) use sql_store;
