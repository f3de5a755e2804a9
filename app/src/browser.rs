//! The few browser calls the app makes itself. Each does nothing on the server.

/// Puts `text` on the clipboard, when the browser allows it.
pub fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::{JsCast, JsValue};
        use leptos::web_sys::js_sys::{Function, Reflect};
        let window: JsValue = leptos::prelude::window().into();
        let clipboard = Reflect::get(&window, &"navigator".into()).and_then(|n| Reflect::get(&n, &"clipboard".into()));
        if let Ok(clipboard) = clipboard {
            if let Ok(write) = Reflect::get(&clipboard, &"writeText".into()) {
                if let Some(write) = write.dyn_ref::<Function>() {
                    let _ = write.call1(&clipboard, &text.into());
                }
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
