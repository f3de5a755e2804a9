//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::session::Login;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || action.value().get().and_then(Result::err);
    // Without JavaScript the page is reloaded after a failure; the email comes back
    // inside the error so that it is not lost.
    let email = move || error().and_then(|e| e.kept("email")).or_else(|| query.read().get("email")).unwrap_or_default();
    let welcome = move || query.read().get("welcome").is_some() && error().is_none();
    let pending = action.pending();

    view! {
        <Title text="Sign in"/>
        <main class="auth-page">
            <div class="auth-card">
                <p class="brand auth-brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    "Integration Hub"
                </p>
                <h1>"Sign in"</h1>
                {move || welcome().then(|| view! {
                    <p class="notice success" role="status">"Your password is set. Sign in to continue."</p>
                })}
                <ActionForm action=action attr:class="form" attr:aria-describedby="login-error">
                    <input type="hidden" name="next" value=next/>
                    <div class="field">
                        <label for="email">"Email"</label>
                        <input
                            id="email"
                            name="email"
                            type="email"
                            autocomplete="username"
                            required
                            autofocus
                            value=email
                        />
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <input
                            id="password"
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            required
                            aria-invalid=move || error().is_some().then_some("true")
                        />
                    </div>
                    <div id="login-error" aria-live="polite">
                        {move || error().map(|e| view! {
                            <p class="field-error" role="alert">{e.to_string()}</p>
                        })}
                    </div>
                    <button type="submit" class="btn primary wide" disabled=move || pending.get()>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
