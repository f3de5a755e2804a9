//! The table of runs, on a tenant's page and on the Activity page.

use leptos::prelude::*;

use crate::api::runs::RunItem;
use crate::components::badge::phase_class;

/// Runs newest first, each linking to its page.
#[component]
pub fn RunsTable(runs: Vec<RunItem>, show_tenant: bool) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data-table" data-testid="runs">
                <caption class="visually-hidden">"Runs"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Run"</th>
                        {show_tenant.then(|| view! { <th scope="col">"Tenant"</th><th scope="col">"Integration"</th> })}
                        <th scope="col">"Mode"</th><th scope="col">"Triggers"</th><th scope="col">"Phase"</th>
                        <th scope="col">"Started"</th><th scope="col">"Duration"</th>
                    </tr>
                </thead>
                <tbody>
                    {runs.into_iter().map(|r| view! {
                        <tr data-run=r.id data-phase=r.phase_code.as_str()>
                            <td><a href=format!("/runs/{}", r.id)>{format!("#{}", r.id)}</a></td>
                            {show_tenant.then(|| view! {
                                <td><a href=format!("/tenants/{}", r.tenant_id)>{r.tenant.clone()}</a></td>
                                <td>{r.integration.clone()}</td>
                            })}
                            <td>{r.mode.as_str()}</td>
                            <td>{r.triggers.clone()}</td>
                            <td><span class=phase_class(r.phase_code)>{r.phase.clone()}</span></td>
                            <td class="nowrap">{r.started.clone()}</td>
                            <td class="nowrap">{r.duration.clone().unwrap_or_else(|| "—".to_owned())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
