//! The release choice of a tenant: a specific release, or the default or latest
//! channel. Used when a tenant is created and in its settings.

use leptos::prelude::*;

use crate::api::tenants::ReleaseOption;
use crate::components::form::field_error;
use crate::error::AppError;

/// The release choice: a specific release (newest first, the default marked) or a
/// channel (`default` or `latest`), posted as `<prefix>[release_mode]`, `[release_id]`
/// and `[channel]`.
#[component]
pub fn ReleaseFields(
    prefix: &'static str,
    releases: Vec<ReleaseOption>,
    default_release: Option<String>,
    latest_release: Option<String>,
    mode: String,
    channel: String,
    release_id: String,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <fieldset class="field">
            <legend>"Release"</legend>
            <div class="radio-block">
                <label class="check">
                    <input type="radio" name=format!("{prefix}[release_mode]") value="specific" checked=mode == "specific"/>
                    "Specific Release"
                </label>
                <p class="hint-text">"The tenant stays on the release you pick until you change it."</p>
                <label for="release_id" class="visually-hidden">"Release"</label>
                <select id="release_id" name=format!("{prefix}[release_id]") disabled=releases.is_empty()
                    aria-invalid=move || field_error(error, "release_id").get().is_some().then_some("true")>
                    {releases.iter().map(|r| view! {
                        <option value=r.id.to_string() selected=release_id == r.id.to_string()>
                            {if r.is_default { format!("{} (default)", r.name) } else { r.name.clone() }}
                        </option>
                    }).collect_view()}
                </select>
                {move || field_error(error, "release_id").get().map(|m| view! { <p class="field-error">{m}</p> })}
            </div>
            <div class="radio-block">
                <label class="check">
                    <input type="radio" name=format!("{prefix}[release_mode]") value="channel" checked=mode == "channel"/>
                    "Channel"
                </label>
                <div class="radio-indent">
                    <label class="check">
                        <input type="radio" name=format!("{prefix}[channel]") value="default" checked=channel == "default"/>
                        "Default"
                        <span class="muted small">{default_release.clone().map(|r| format!(" (now {r})")).unwrap_or_else(|| " (none set yet)".to_owned())}</span>
                    </label>
                    <p class="hint-text">"Always runs the integration's default release, and follows it when the default changes."</p>
                    <label class="check">
                        <input type="radio" name=format!("{prefix}[channel]") value="latest" checked=channel == "latest"/>
                        "Latest"
                        <span class="muted small">{latest_release.clone().map(|r| format!(" (now {r})")).unwrap_or_default()}</span>
                    </label>
                    <p class="hint-text">"Always runs the newest successful build, whatever the default release is."</p>
                </div>
                {move || field_error(error, "channel").get().map(|m| view! { <p class="field-error">{m}</p> })}
            </div>
        </fieldset>
    }
}
