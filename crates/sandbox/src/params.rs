//! Stripe's request parameters: form-encoded bodies (and query strings) with bracket nesting.
//!
//! Stripe clients send `card[number]=…`, `metadata[order_id]=…` and `expand[]=…`. We keep the
//! flattened keys as sent and let each endpoint take the ones it knows; whatever is left over is
//! an unknown parameter and is refused with 400, as Stripe does, naming the parameter.

use std::collections::BTreeMap;

use crate::error::ApiError;

/// The parameters of one request, consumed by the endpoint as it reads them.
#[derive(Debug, Default)]
pub struct Params {
    values: BTreeMap<String, Vec<String>>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body or query string.
    pub fn parse(raw: &[u8]) -> Params {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(raw) {
            values
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        Params { values }
    }

    /// Takes an optional single-valued parameter; empty strings count as absent (Stripe clients
    /// send `key=` to unset).
    pub fn take(&mut self, key: &str) -> Option<String> {
        let v = self.values.remove(key)?;
        v.into_iter().last().filter(|s| !s.is_empty())
    }

    /// A parameter's value without taking it (the last, if sent more than once).
    pub fn peek(&self, key: &str) -> Option<&str> {
        self.values.get(key)?.last().map(String::as_str)
    }

    /// Takes a parameter that may be sent empty to unset: `None` if absent, `Some("")` if
    /// sent empty.
    pub fn take_present(&mut self, key: &str) -> Option<String> {
        self.values.remove(key)?.into_iter().last()
    }

    /// Takes the keys of `prefix[k]=` sent empty (Stripe's "unset this key"), e.g. metadata.
    pub fn take_empty_map(&mut self, prefix: &str) -> Vec<String> {
        let open = format!("{prefix}[");
        let keys: Vec<String> = self
            .values
            .iter()
            .filter(|(k, v)| {
                k.starts_with(&open) && k.ends_with(']') && v.last().is_some_and(String::is_empty)
            })
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .map(|k| {
                self.values.remove(&k);
                k[open.len()..k.len() - 1].to_owned()
            })
            .collect()
    }

    /// Whether any parameter left starts with `prefix` (e.g. `items[1]`).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.values.keys().any(|k| k.starts_with(prefix))
    }

    /// Takes a required parameter.
    pub fn require(&mut self, key: &str) -> Result<String, ApiError> {
        self.take(key).ok_or_else(|| ApiError::missing_param(key))
    }

    /// Takes an integer parameter.
    pub fn take_i64(&mut self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid_param(key, format!("Invalid integer: {v}"))),
        }
    }

    /// Takes a boolean parameter (`true`/`false`).
    pub fn take_bool(&mut self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.take(key).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid_param(
                key,
                format!("Invalid boolean: {v}"),
            )),
        }
    }

    /// Takes an enumerated parameter, checking it is one of `allowed`.
    pub fn take_enum(&mut self, key: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
            Some(v) => Err(ApiError::invalid_param(
                key,
                format!(
                    "Invalid {key}: must be one of {}; got {v}",
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// Takes every `prefix[sub]=value` pair, e.g. `metadata[order_id]`.
    pub fn take_map(&mut self, prefix: &str) -> BTreeMap<String, String> {
        let open = format!("{prefix}[");
        let keys: Vec<String> = self
            .values
            .keys()
            .filter(|k| {
                k.starts_with(&open)
                    && k.ends_with(']')
                    && !k[open.len()..k.len() - 1].contains('[')
            })
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|k| {
                let sub = k[open.len()..k.len() - 1].to_owned();
                self.take(&k).map(|v| (sub, v))
            })
            .collect()
    }

    /// Takes a list parameter: `key[]=a&key[]=b` or `key[0]=a&key[1]=b`.
    pub fn take_list(&mut self, key: &str) -> Vec<String> {
        let mut out = self.values.remove(&format!("{key}[]")).unwrap_or_default();
        let indexed = self.take_map(key);
        let mut indexed: Vec<(usize, String)> = indexed
            .into_iter()
            .filter_map(|(k, v)| k.parse().ok().map(|i| (i, v)))
            .collect();
        indexed.sort();
        out.extend(indexed.into_iter().map(|(_, v)| v));
        out
    }

    /// Fails with Stripe's "Received unknown parameter" for the first parameter left unread.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.values.into_keys().next() {
            None => Ok(()),
            Some(key) => Err(ApiError::invalid_param(
                &key,
                format!("Received unknown parameter: {key}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_maps_lists_and_unknowns() {
        let mut p = Params::parse(
            b"amount=1000&card%5Bnumber%5D=4242&metadata[order]=o1&metadata[note]=hi&expand[]=latest_charge&expand[]=customer&bogus=1",
        );
        assert_eq!(p.take_i64("amount").unwrap(), Some(1000));
        assert_eq!(p.take("card[number]").as_deref(), Some("4242"));
        let meta = p.take_map("metadata");
        assert_eq!(meta.get("order").map(String::as_str), Some("o1"));
        assert_eq!(meta.len(), 2);
        assert_eq!(p.take_list("expand"), ["latest_charge", "customer"]);
        let err = p.finish().unwrap_err();
        assert_eq!(err.param.as_deref(), Some("bogus"));
        assert_eq!(err.status.as_u16(), 400);
    }

    #[test]
    fn bad_integer_and_enum_name_the_param() {
        let mut p = Params::parse(b"amount=ten&capture_method=later");
        assert_eq!(
            p.take_i64("amount").unwrap_err().param.as_deref(),
            Some("amount")
        );
        let e = p
            .take_enum("capture_method", &["automatic", "manual"])
            .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("capture_method"));
    }

    #[test]
    fn indexed_lists_are_ordered() {
        let mut p = Params::parse(b"expand[1]=b&expand[0]=a");
        assert_eq!(p.take_list("expand"), ["a", "b"]);
        p.finish().unwrap();
    }
}
