//! Saved filters: a staff member names the payments list's current filters ("Refunds this
//! month", "Large gifts") and finds them again as links above the list. Each is theirs for one
//! merchant, at most [`MAX_SAVED`], checked like the list's own filters before it is kept, and
//! kept in canonical form (no page cursor), so a link never carries what the list would refuse.

use paywidget_core::api::ErrorCode;

use super::{Filters, Staff};
use crate::store::SavedFilter;
use crate::support::error::DomainError;
use crate::HostState;

/// Saved filters per staff member and merchant.
pub const MAX_SAVED: i64 = 20;
/// The longest name, in characters.
pub const MAX_NAME: usize = 60;
/// The longest query, in bytes.
pub const MAX_QUERY: usize = 1000;

fn bad(message: impl Into<String>) -> DomainError {
    DomainError::invalid(ErrorCode::InvalidRequest, message)
}

/// The list's filters from a URL query (`status=refunded&q=ada`); an unknown key or a repeated
/// one is refused.
pub fn parse_query(query: &str) -> Result<Filters, DomainError> {
    if query.len() > MAX_QUERY {
        return Err(bad("That filter is too long to save."));
    }
    let mut f = Filters::default();
    for (key, value) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
        let slot = match key.as_ref() {
            "merchant" => &mut f.merchant,
            "status" => &mut f.status,
            "campaign" => &mut f.campaign,
            "currency" => &mut f.currency,
            "min" => &mut f.min,
            "max" => &mut f.max,
            "from" => &mut f.from,
            "to" => &mut f.to,
            "q" => &mut f.q,
            // A page cursor is not part of a view.
            "before" => continue,
            _ => return Err(bad("That is not a filter of the payments list.")),
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(bad("A filter is named twice."));
        }
    }
    Ok(f)
}

/// The staff member's saved filters for their merchant.
pub async fn list(state: &HostState, staff: &Staff) -> Result<Vec<SavedFilter>, DomainError> {
    Ok(state
        .store
        .saved_filters(&staff.merchant, &staff.email)
        .await?)
}

/// Saves the list's filters `query` as `name` for the staff member: the saved query (canonical).
pub async fn save(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    name: &str,
    query: &str,
) -> Result<String, DomainError> {
    super::check_csrf(staff, csrf)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(bad(format!(
            "Name the filter in 1 to {MAX_NAME} characters, on one line."
        )));
    }
    let filters = parse_query(query)?;
    // Checked as the list checks it: a saved link always opens.
    filters.query(staff, 1)?;
    let canonical = Filters {
        merchant: None,
        ..filters
    }
    .to_query();
    let saved = SavedFilter {
        id: state.ids.new_id("sf"),
        merchant: staff.merchant.clone(),
        email: staff.email.clone(),
        name: name.to_owned(),
        query: canonical.clone(),
        created: state.clock.now(),
    };
    if !state.store.save_filter(&saved, MAX_SAVED).await? {
        return Err(bad(format!(
            "You have {MAX_SAVED} saved filters; delete one first."
        )));
    }
    Ok(canonical)
}

/// Deletes one of the staff member's saved filters.
pub async fn delete(
    state: &HostState,
    staff: &Staff,
    csrf: &str,
    id: &str,
) -> Result<(), DomainError> {
    super::check_csrf(staff, csrf)?;
    if state
        .store
        .delete_filter(&staff.merchant, &staff.email, id)
        .await?
    {
        Ok(())
    } else {
        Err(DomainError::NotFound("saved filter"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_into_the_lists_filters_only() {
        let f = parse_query("status=refunded&q=ada%40example.org&before=1.cs_x").unwrap();
        assert_eq!(f.status.as_deref(), Some("refunded"));
        assert_eq!(f.q.as_deref(), Some("ada@example.org"));
        assert_eq!(f.before, None, "a cursor is not saved");
        assert!(parse_query("status=paid&status=refunded").is_err());
        assert!(parse_query("evil=1").is_err());
        assert!(parse_query(&"q=a".repeat(400)).is_err());
        assert_eq!(parse_query("").unwrap(), Filters::default());
    }
}
