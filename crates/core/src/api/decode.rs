//! The page's JSON decoder: a serde `Deserializer` over an already-parsed JSON tree (in the
//! browser, the value `JSON.parse` returns; natively, a `serde_json::Value`), so the contract
//! types decode the same way in both and the contract test runs the page's decoder natively.
//!
//! Why not serde_json or serde-wasm-bindgen in the wasm: their errors format messages, which
//! pulls `core::fmt` machinery (~9 kB brotli) into a build that otherwise avoids it. Here the
//! error is one value and every message serde offers is dropped unread.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// What a JSON node is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// `null` (or JavaScript's `undefined`).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string (read with [`Node::string`]).
    String,
    /// An array (read with [`Node::elements`]).
    Array,
    /// An object (read with [`Node::entries`]).
    Object,
}

/// A parsed JSON value the decoder can walk.
pub trait Node: Sized {
    /// Its kind.
    fn kind(&self) -> Kind;
    /// Its text, when it is a string.
    fn string(&self) -> Option<String>;
    /// Its items, when it is an array.
    fn elements(&self) -> Vec<Self>;
    /// Its members in order, when it is an object.
    fn entries(&self) -> Vec<(String, Self)>;
}

/// The answer does not match the contract. Deliberately without detail (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError;

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the answer does not match the API contract")
    }
}

impl std::error::Error for DecodeError {}

// Every provided method is overridden: their defaults build `format_args!` over serde's
// `Unexpected`/`Expected`, which keeps float and integer formatting in the wasm even though the
// message is dropped.
impl de::Error for DecodeError {
    fn custom<T: core::fmt::Display>(_msg: T) -> Self {
        DecodeError
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        DecodeError
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        DecodeError
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        DecodeError
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        DecodeError
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        DecodeError
    }
    fn missing_field(_: &'static str) -> Self {
        DecodeError
    }
    fn duplicate_field(_: &'static str) -> Self {
        DecodeError
    }
}

/// Decodes `node` as `T`.
pub fn from_node<T: DeserializeOwned, N: Node>(node: N) -> Result<T, DecodeError> {
    T::deserialize(NodeDeserializer(node))
}

/// A serde deserializer over one node.
#[derive(Debug)]
pub struct NodeDeserializer<N>(pub N);

impl<'de, N: Node> de::Deserializer<'de> for NodeDeserializer<N> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Number(n) => {
                // JSON has one number type: integral values go to integer fields.
                if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
                    visitor.visit_i64(n as i64)
                } else {
                    visitor.visit_f64(n)
                }
            }
            Kind::String => visitor.visit_string(self.0.string().ok_or(DecodeError)?),
            Kind::Array => visitor.visit_seq(Items(self.0.elements().into_iter())),
            Kind::Object => visitor.visit_map(Members {
                entries: self.0.entries().into_iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    // Each typed entry point calls exactly one `visit_*`: a visitor's other methods are then
    // never referenced and stay out of the wasm (`deserialize_any` would reach all of them).

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Bool(b) => visitor.visit_bool(b),
            _ => Err(DecodeError),
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Number(n) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
                visitor.visit_i64(n as i64)
            }
            _ => Err(DecodeError),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Number(n) => visitor.visit_f64(n),
            _ => Err(DecodeError),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_string(self.0.string().ok_or(DecodeError)?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Null => visitor.visit_unit(),
            _ => Err(DecodeError),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Array => visitor.visit_seq(Items(self.0.elements().into_iter())),
            _ => Err(DecodeError),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.kind() {
            Kind::Object => visitor.visit_map(Members {
                entries: self.0.entries().into_iter(),
                value: None,
            }),
            _ => Err(DecodeError),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        // The contract's plain enums travel as strings.
        let s = self.0.string().ok_or(DecodeError)?;
        visitor.visit_enum(s.into_deserializer())
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        // Unknown members are skipped without walking them.
        visitor.visit_unit()
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DecodeError> {
        Err(DecodeError)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DecodeError> {
        Err(DecodeError)
    }

    serde::forward_to_deserialize_any! { i128 u128 }
}

struct Items<I>(I);

impl<'de, N: Node, I: Iterator<Item = N>> de::SeqAccess<'de> for Items<I> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        self.0
            .next()
            .map(|n| seed.deserialize(NodeDeserializer(n)))
            .transpose()
    }
}

struct Members<I, N> {
    entries: I,
    value: Option<N>,
}

impl<'de, N: Node, I: Iterator<Item = (String, N)>> de::MapAccess<'de> for Members<I, N> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                let key: de::value::StringDeserializer<DecodeError> = key.into_deserializer();
                seed.deserialize(key).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let value = self.value.take().ok_or(DecodeError)?;
        seed.deserialize(NodeDeserializer(value))
    }
}

#[cfg(feature = "serde_json")]
impl Node for serde_json::Value {
    fn kind(&self) -> Kind {
        match self {
            serde_json::Value::Null => Kind::Null,
            serde_json::Value::Bool(b) => Kind::Bool(*b),
            serde_json::Value::Number(n) => Kind::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(_) => Kind::String,
            serde_json::Value::Array(_) => Kind::Array,
            serde_json::Value::Object(_) => Kind::Object,
        }
    }

    fn string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }

    fn elements(&self) -> Vec<Self> {
        self.as_array().cloned().unwrap_or_default()
    }

    fn entries(&self) -> Vec<(String, Self)> {
        self.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

#[cfg(all(test, feature = "serde_json"))]
mod tests {
    use super::*;
    use crate::api::*;
    use serde_json::json;

    fn decode<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, DecodeError> {
        from_node(v)
    }

    #[test]
    fn decodes_structs_options_maps_and_tagged_enums() {
        let c: CampaignView = decode(json!({
            "id": "w", "kind": "donation", "title": "T", "merchant_name": "M",
            "currency": "EUR", "suggested_amounts": [1000, 2500], "min_amount": 500,
            "max_amount": null, "price": null, "fee_coverage": { "percent": 2.9, "fixed": 30 },
            "gateway_url": "http://g", "publishable_key": "pk_x", "logo_url": null,
            "collect_postal_code": true, "allowed_origins": ["https://a.example"],
            "added_later": { "ignored": [1, 2] }
        }))
        .unwrap();
        assert_eq!(c.currency, crate::money::Currency::Eur);
        assert_eq!(c.fee_coverage.unwrap().percent, 2.9);
        assert_eq!(c.suggested_amounts, vec![1000, 2500]);
        assert_eq!(c.max_amount, None);
        assert!(c.collect_postal_code);
        assert_eq!(
            c.card_capture,
            CardCapture::Direct,
            "absent: our own fields"
        );
        let stripe: CampaignView = decode(json!({
            "id": "w", "kind": "license", "title": "T", "merchant_name": "M",
            "currency": "EUR", "suggested_amounts": [], "min_amount": null,
            "max_amount": null, "price": 4900, "fee_coverage": null,
            "gateway_url": "https://api.stripe.com", "publishable_key": "pk_x", "logo_url": null,
            "collect_postal_code": false, "allowed_origins": [],
            "card_capture": "gateway_fields", "gateway_js_url": "https://js.stripe.com/v3/"
        }))
        .unwrap();
        assert_eq!(stripe.card_capture, CardCapture::GatewayFields);
        assert_eq!(
            stripe.gateway_js_url.as_deref(),
            Some("https://js.stripe.com/v3/")
        );
        let o: PayOutcome = decode(json!({
            "status": "requires_action", "redirect_url": "http://g/3ds", "client_secret": "pi_1_secret_2"
        }))
        .unwrap();
        assert_eq!(
            o,
            PayOutcome::RequiresAction {
                redirect_url: "http://g/3ds".into(),
                client_secret: Some("pi_1_secret_2".into())
            }
        );

        let o: PayOutcome =
            decode(json!({ "status": "declined", "code": "incorrect_cvc", "message": "m" }))
                .unwrap();
        assert_eq!(
            o,
            PayOutcome::Declined {
                code: DeclineCode::IncorrectCvc,
                message: "m".into()
            }
        );
        let o: PayOutcome = decode(json!({ "status": "teleported" })).unwrap();
        assert_eq!(o, PayOutcome::Unknown, "unknown outcomes are never success");
        let s: SessionStatus = decode(json!("teleported")).unwrap();
        assert_eq!(s, SessionStatus::Unknown);
        let f: FeeCoverage = decode(json!({ "percent": 3, "fixed": 0 })).unwrap();
        assert_eq!(f.percent, 3.0, "an integral number fills a float field");
    }

    #[test]
    fn mismatches_are_errors() {
        assert!(decode::<PaymentMethodCreated>(json!({ "id": 5 })).is_err());
        assert!(decode::<PaymentMethodCreated>(json!({})).is_err());
        assert!(decode::<SessionCreated>(json!({ "id": "cs", "amount": 1, "fee": 0, "total": 1, "currency": "XXX", "display_total": "" })).is_err());
        assert!(decode::<FeeCoverage>(json!({ "percent": 1, "fixed": 1.5 })).is_err());
    }
}
