//! The viewer's clock and time zone, read in the browser only.
//!
//! The server does not know the viewer's zone, so it renders times in UTC; a page switches to
//! local, relative times only after hydration (when [`now_ms`] starts answering), so the first
//! hydrated render is the same text as the server's HTML.

/// Unix ms now, in the browser; `None` on the server.
pub fn now_ms() -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        Some(js_sys::Date::now() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// `at` (Unix ms) shifted to the viewer's wall clock (their zone's offset at that moment,
/// daylight saving included); `None` on the server.
pub fn to_local(at: i64) -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        let offset_min =
            js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64)).get_timezone_offset();
        Some(at - (offset_min * 60_000.0) as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = at;
        None
    }
}
