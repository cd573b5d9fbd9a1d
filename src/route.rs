//! The hosted checkout's pages, parsed from the URL path (each is a full page load, so no
//! router crate is needed in the wasm).

/// A page of the hosted checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/c/:campaign`: the form.
    Checkout(String),
    /// `/c/:campaign/return`: back from 3-D Secure.
    Return(String),
    /// `/c/:campaign/update-card`: a new card for a recurring gift (the link from the mail).
    UpdateCard,
    /// `/`: the card-field showcase.
    Home,
    /// Anything else.
    NotFound,
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Route {
    /// Parses `location.pathname`.
    pub fn parse(path: &str) -> Route {
        let parts: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        match parts.as_slice() {
            [] => Route::Home,
            ["c", id] if segment_ok(id) => Route::Checkout((*id).to_owned()),
            ["c", id, "return"] if segment_ok(id) => Route::Return((*id).to_owned()),
            ["c", id, "update-card"] if segment_ok(id) => Route::UpdateCard,
            _ => Route::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn parses_the_pages() {
        assert_eq!(Route::parse("/"), Route::Home);
        assert_eq!(
            Route::parse("/c/winter-appeal"),
            Route::Checkout("winter-appeal".into())
        );
        assert_eq!(
            Route::parse("/c/winter-appeal/"),
            Route::Checkout("winter-appeal".into())
        );
        assert_eq!(
            Route::parse("/c/acme-pro/return"),
            Route::Return("acme-pro".into())
        );
        // The confirmation is the host's own page, not the wasm's.
        assert_eq!(Route::parse("/thanks/cs_123"), Route::NotFound);
        assert_eq!(
            Route::parse("/c/winter-appeal/update-card"),
            Route::UpdateCard
        );
        assert_eq!(Route::parse("/c/<script>"), Route::NotFound);
        assert_eq!(Route::parse("/admin"), Route::NotFound);
    }
}
