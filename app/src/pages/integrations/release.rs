//! `/releases/:id`: one release of an integration, with its manifest and build log.

use hub_core::domain::release::ReleaseStatus;
use leptos::prelude::*;
use leptos_router::components::A;

use super::detail::param_id;
use crate::api::integrations::{get_release, SetDefaultRelease};
use crate::components::badge::ReleaseStatusBadge;
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader, RefreshWhileBusy};
use crate::error::AppError;

#[component]
pub fn ReleasePage() -> impl IntoView {
    let id = param_id("id");
    let make_default = ServerAction::<SetDefaultRelease>::new();
    let refresh = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id.get(), make_default.version().get(), refresh.get()),
        |(id, ..)| async move {
            match id {
                Some(id) => get_release(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let d = match detail.await {
                    Ok(d) => d,
                    Err(e) => return view! { <PageHeader title="Release"/><ErrorNotice error=e/> }.into_any(),
                };
                let r = d.release.clone();
                let busy = !r.status.is_finished();
                view! {
                    <leptos_meta::Title text=format!("{} · {}", r.name, d.integration_name)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs">
                                <a href="/integrations">"Integrations"</a>" / "
                                <A href=format!("/integrations/{}", d.integration_id)>{d.integration_name.clone()}</A>
                            </p>
                            <h1>{r.name.clone()}" "<ReleaseStatusBadge status=r.status/></h1>
                        </div>
                        <div class="page-actions">
                            {(r.status == ReleaseStatus::Succeeded && !r.is_default && !r.files_removed).then(|| view! {
                                <ActionForm action=make_default>
                                    <input type="hidden" name="integration_id" value=d.integration_id/>
                                    <input type="hidden" name="release_id" value=r.id/>
                                    <button type="submit" class="btn primary">"Set as default"</button>
                                </ActionForm>
                            })}
                            {r.is_default.then_some(view! { <span class="badge accent">"Default release"</span> })}
                        </div>
                    </div>
                    <RefreshWhileBusy busy=busy refetch=move |()| refresh.update(|n| *n += 1)/>
                    {r.error.clone().map(|e| view! { <p class="notice error" role="alert" data-testid="release-error">{e}</p> })}
                    {r.files_removed.then_some(view! {
                        <p class="notice warning" data-testid="files-removed">"Nothing used this release for a week after its build, so its files were removed to save disk (Company settings, Retention). Build its git ref again to use it."</p>
                    })}
                    <dl class="facts">
                        <div><dt>"Ref"</dt><dd class="mono">{r.git_ref.clone()}</dd></div>
                        <div><dt>"Commit"</dt><dd class="mono">{r.commit.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                        <div><dt>"Run command"</dt><dd class="mono">{d.run_command.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                        <div><dt>"Queued"</dt><dd>{r.created_at.clone()}</dd></div>
                        <div><dt>"Finished"</dt><dd>{r.finished_at.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                    </dl>
                    {d.manifest.clone().map(|m| view! {
                        <section class="section" aria-labelledby="manifest-heading">
                            <h2 id="manifest-heading">"PANDIUM.yaml"</h2>
                            <dl class="facts">
                                <div><dt>"Version"</dt><dd>{m.version}</dd></div>
                                <div><dt>"Base"</dt><dd>{m.base.unwrap_or_else(|| "—".to_owned())}</dd></div>
                                <div><dt>"Build"</dt><dd class="mono">{m.build.unwrap_or_else(|| "—".to_owned())}</dd></div>
                                <div><dt>"Connectors"</dt><dd>{if m.connectors.is_empty() { "None".to_owned() } else { m.connectors.join(", ") }}</dd></div>
                                <div><dt>"Configuration fields"</dt><dd>{if m.properties.is_empty() { "None".to_owned() } else { m.properties.join(", ") }}</dd></div>
                                <div><dt>"Dynamic options"</dt><dd>{if m.dynamic.is_empty() { "None".to_owned() } else { m.dynamic.join(", ") }}</dd></div>
                                <div><dt>"Layout"</dt><dd>{if m.has_uischema { "From the uischema" } else { "Every field in order" }}</dd></div>
                            </dl>
                        </section>
                    })}
                    <section class="section" aria-labelledby="sandbox-heading">
                        <h2 id="sandbox-heading">"Sandbox"</h2>
                        <p data-testid="release-sandbox">{d.sandbox.clone().unwrap_or_else(|| "Not built yet.".to_owned())}</p>
                    </section>
                    <section class="section" aria-labelledby="log-heading">
                        <h2 id="log-heading">"Build log"</h2>
                        <pre class="log" data-testid="build-log">{if d.build_log.is_empty() { "(nothing yet)".to_owned() } else { d.build_log.clone() }}</pre>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}
