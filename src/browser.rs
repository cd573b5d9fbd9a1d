//! Small wrappers over the browser: location, query parameters, sessionStorage, focus, timers
//! and today's date. Kept in one place so components stay about wiring.

use wasm_bindgen::JsCast;

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// `location.pathname`.
pub fn path() -> String {
    window().location().pathname().unwrap_or_default()
}

/// Removes the element `id`, if there is one.
pub fn remove(id: &str) {
    if let Some(e) = window().document().and_then(|d| d.get_element_by_id(id)) {
        e.remove();
    }
}

/// The current URL, whole (a reload link keeps the query's prefilled amount).
pub fn href() -> String {
    window().location().href().unwrap_or_default()
}

/// A query parameter of the current URL.
pub fn query(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// The browser's languages, most preferred first (`navigator.languages`: `ja-JP`, `en`).
pub fn languages() -> Vec<String> {
    window()
        .navigator()
        .languages()
        .iter()
        .filter_map(|l| l.as_string())
        .take(10)
        .collect()
}

/// Loads this page again with the query parameter `name` set to `value`.
pub fn set_query(name: &str, value: &str) {
    let location = window().location();
    let search = location.search().unwrap_or_default();
    if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) {
        params.set(name, value);
        let _ = location.set_search(&String::from(params.to_string()));
    }
}

/// Navigates to `url` (a full page load).
pub fn go(url: &str) {
    let _ = window().location().assign(url);
}

/// Replaces the current page with `url` (no history entry).
pub fn replace(url: &str) {
    let _ = window().location().replace(url);
}

fn storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

/// `sessionStorage[key]`. Holds only ids and attempt keys — never card data.
pub fn stored(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

/// Sets `sessionStorage[key]`.
pub fn store(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

/// Removes `sessionStorage[key]`.
pub fn forget(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// Moves keyboard focus to the element with `id`.
pub fn focus(id: &str) {
    if let Some(el) = window().document().and_then(|d| d.get_element_by_id(id)) {
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}

/// The value of the input with `id`.
pub fn input_value(id: &str) -> String {
    window()
        .document()
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

/// Sets the value of the input with `id`.
pub fn set_input_value(id: &str, value: &str) {
    if let Some(i) = window()
        .document()
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        i.set_value(value);
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Today's (year, month) in the shopper's time zone, for card expiry checks.
pub fn today() -> (u16, u8) {
    let d = js_sys::Date::new_0();
    (d.get_full_year() as u16, (d.get_month() + 1) as u8)
}

/// The pay flow's storage: sessionStorage.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionStore;

impl crate::pay_flow::Storage for SessionStore {
    fn get(&self, key: &str) -> Option<String> {
        stored(key)
    }
    fn set(&self, key: &str, value: &str) {
        store(key, value);
    }
    fn remove(&self, key: &str) {
        forget(key);
    }
}

/// The pay flow's timers: `setTimeout`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timers;

impl crate::pay_flow::Sleeper for Timers {
    async fn sleep(&self, ms: u32) {
        sleep(i32::try_from(ms).unwrap_or(i32::MAX)).await;
    }
}
