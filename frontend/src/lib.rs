//! The wasm entry point: hydrate the page the server rendered, and nothing else.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panic messages in the browser's console while developing; a release
    // bundle leaves the hook (and its formatting code) out.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    drop_form_error_from_address();
    // Every page is a lazily loaded route: it hydrates once its code has arrived. The
    // body is marked when the whole page has been taken over (the tests wait for it).
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else { return };
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

/// A failed form post's error in the address (`__err`, with its `__path`) is the
/// server's to show: it comes sealed, for a page loaded without JavaScript, and the
/// server opens it. The browser never reads one, so a link with a crafted error
/// cannot fill a form: both are taken out of the address before the router reads it.
fn drop_form_error_from_address() {
    use leptos::web_sys::js_sys::decode_uri_component;
    let window = leptos::prelude::window();
    let location = window.location();
    let Ok(search) = location.search() else { return };
    let is_error = |pair: &&str| {
        let key = pair.split('=').next().unwrap_or_default();
        let key = decode_uri_component(key).ok().and_then(|k| k.as_string()).unwrap_or_else(|| key.to_owned());
        key == "__err" || key == "__path"
    };
    let pairs: Vec<&str> = search.trim_start_matches('?').split('&').filter(|p| !p.is_empty()).collect();
    if !pairs.iter().any(is_error) {
        return;
    }
    let kept: Vec<&str> = pairs.into_iter().filter(|p| !is_error(p)).collect();
    let path = location.pathname().unwrap_or_default();
    let hash = location.hash().unwrap_or_default();
    let query = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(
            &leptos::wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}{query}{hash}")),
        );
    }
}
