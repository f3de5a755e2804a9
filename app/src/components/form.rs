//! Form pieces: a labelled field with its error beside it.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

/// How many times `action` has succeeded. A page keys its data on this, not on the
/// action's version: a refusal changed nothing, and reading the data again would
/// build the form anew over what the user typed since the refusal came back.
pub fn successes<S>(action: ServerAction<S>) -> Memo<usize>
where
    S: ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    Memo::new(move |before: Option<&usize>| {
        let count = before.copied().unwrap_or(0);
        count + usize::from(action.value().with(|v| matches!(v, Some(Ok(_)))))
    })
}

/// The message for `field` in the latest error of a form, if it is about that field.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.field_message(field)))
}

/// A labelled text input whose error (if any) is shown under it.
#[component]
pub fn TextField(
    /// The form field's name (what the server function receives).
    name: &'static str,
    /// The element id, also used for the label and the error.
    id: &'static str,
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id>{label}{required.then_some(view! { <span class="required" aria-hidden="true">" *"</span> })}</label>
            {hint.map(|h| view! { <p class="hint-text" id=hint_id.clone()>{h}</p> })}
            <input
                id=id
                name=name
                type="text"
                value=move || value.get()
                required=required
                placeholder=placeholder
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described
            />
            {move || error.get().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}
