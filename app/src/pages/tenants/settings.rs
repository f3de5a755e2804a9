//! `/tenants/:id/settings`: the tenant's release choice and configuration.

use leptos::prelude::*;

use super::detail::tenant_resource;
use crate::api::tenants::SaveTenantSettings;
use crate::components::config_form::ConfigFields;
use crate::components::form::successes;
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader};
use crate::components::release::ReleaseFields;
use crate::error::AppError;

/// `/tenants/:id/settings`: the configuration form and the version choice.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveTenantSettings>::new();
    let save_ok = successes(save);
    let data = tenant_resource(move || save_ok.get());
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let t = match data.await {
                    Ok(t) => t,
                    Err(e) => return view! { <PageHeader title="Settings"/><ErrorNotice error=e/> }.into_any(),
                };
                let kept = move |name: &str| error.get_untracked().and_then(|e| e.kept(name));
                let default_release = t.releases.iter().find(|r| r.is_default).map(|r| r.name.clone());
                let latest_release = t.releases.first().map(|r| r.name.clone());
                view! {
                    <PageHeader title="Settings" doc_title=format!("Settings · {}", t.name) no_actions=true
                        breadcrumbs=vec![("Tenants".to_owned(), "/tenants".to_owned()), (t.name.clone(), format!("/tenants/{}", t.id))]
                        lead=format!("{} · {}", t.integration_name, t.release)/>
                    {move || error.get().map(|e| match e {
                        AppError::Validation { .. } => view! { <p class="notice error" role="alert">"Some settings need a change; see the messages next to them."</p> }.into_any(),
                        other => view! { <ErrorNotice error=other/> }.into_any(),
                    })}
                    <ActionForm action=save attr:class="form card config-form" attr:novalidate=true>
                        <input type="hidden" name="tenant_id" value=t.id/>
                        <h2>"Version"</h2>
                        <ReleaseFields prefix="version" releases=t.releases.clone() default_release=default_release latest_release=latest_release
                            mode=kept("release_mode").unwrap_or(t.version.release_mode.clone())
                            channel=kept("channel").unwrap_or(t.version.channel.clone())
                            release_id=kept("release_id").unwrap_or(t.version.release_id.clone()) error=error/>
                        <h2>"Configuration"</h2>
                        {match t.form.clone() {
                            Some(form) => view! { <ConfigFields form=form dynamic=t.dynamic.clone() raw=t.raw.clone() server_error=error/> }.into_any(),
                            None => view! { <p class="notice warning">"The current release choice points at no successful release."</p> }.into_any(),
                        }}
                        <div class="form-actions">
                            <a class="btn" href=format!("/tenants/{}", t.id)>"Cancel"</a>
                            <button type="submit" class="btn primary" disabled=move || save.pending().get()>"Save Changes"</button>
                        </div>
                    </ActionForm>
                }.into_any()
            })}
        </Suspense>
    }
}
