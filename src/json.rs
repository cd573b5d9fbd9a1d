//! Reading JSON answers through the browser's own `JSON.parse` (no JSON library in the wasm:
//! the bundle budget). Missing keys read as absent, never as errors.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

/// A parsed JSON value.
#[derive(Clone, Debug)]
pub struct Json(JsValue);

impl Default for Json {
    fn default() -> Self {
        Json(JsValue::UNDEFINED)
    }
}

impl Json {
    /// Parses `text`; `None` if it is not JSON.
    pub fn parse(text: &str) -> Option<Json> {
        js_sys::JSON::parse(text).ok().map(Json)
    }

    /// The member `key` (absent → an undefined value).
    pub fn get(&self, key: &str) -> Json {
        if !self.0.is_object() {
            return Json::default();
        }
        Json(Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED))
    }

    /// The string at `key`.
    pub fn str(&self, key: &str) -> Option<String> {
        self.get(key).0.as_string()
    }

    /// The integer at `key`.
    pub fn i64(&self, key: &str) -> Option<i64> {
        self.get(key).0.as_f64().map(|f| f as i64)
    }

    /// The boolean at `key` (false when absent).
    pub fn bool(&self, key: &str) -> bool {
        self.get(key).0.as_bool().unwrap_or(false)
    }

    /// The number at `key`.
    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).0.as_f64()
    }

    /// Whether this value is an object (not absent or null).
    pub fn is_object(&self) -> bool {
        self.0.is_object()
    }

    /// The integers of the array at `key`.
    pub fn i64s(&self, key: &str) -> Vec<i64> {
        let v = self.get(key).0;
        if !Array::is_array(&v) {
            return Vec::new();
        }
        Array::from(&v)
            .iter()
            .filter_map(|x| x.as_f64().map(|f| f as i64))
            .collect()
    }

    /// The strings of the array at `key`.
    pub fn strs(&self, key: &str) -> Vec<String> {
        let v = self.get(key).0;
        if !Array::is_array(&v) {
            return Vec::new();
        }
        Array::from(&v)
            .iter()
            .filter_map(|x| x.as_string())
            .collect()
    }

    /// The string members of the object at `key`, in order.
    pub fn string_entries(&self, key: &str) -> Vec<(String, String)> {
        let v = self.get(key).0;
        if !v.is_object() {
            return Vec::new();
        }
        Object::entries(&Object::from(v))
            .iter()
            .filter_map(|pair| {
                let pair = Array::from(&pair);
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect()
    }
}
