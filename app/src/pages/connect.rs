//! The magic link's page, opened by the customer without a hub account: it names the
//! integration and the connector, and nothing else of the hub. OAuth2 connectors
//! go to the provider's consent screen; `api_key`/`basic` connectors ask for their
//! fields here.

use hub_core::domain::connector::AuthKind;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::connect::{connect_failure, get_magic_link, SaveMagicLink};
use crate::components::loading::Loading;
use crate::components::page::ErrorNotice;
use crate::error::AppError;

#[component]
pub fn ConnectPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let data = Resource::new(move || token.get(), get_magic_link);
    // What went wrong, as the hub sealed it in the address.
    let failure = Resource::new(
        move || (token.get(), query.with(|q| q.get("failed"))),
        |(token, failed)| async move {
            match failed {
                Some(f) => connect_failure(token, f).await.ok().flatten(),
                None => None,
            }
        },
    );
    let save = ServerAction::<SaveMagicLink>::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <Title text="Connect"/>
        <main class="connect-page">
            <div class="connect-card card">
                <Suspense fallback=Loading>
                    {move || Suspend::new(async move {
                        let failed = failure.await;
                        let connected = query.with(|q| q.get("connected").is_some());
                        let link = match data.await {
                            Ok(l) => l,
                            Err(e) => return view! {
                                <h1>"Connect"</h1>
                                {failed.map(|f| view! { <p class="notice error" role="alert" data-testid="connect-failed">{f}</p> })}
                                <p class="notice error" role="alert" data-testid="link-refused">
                                    {match e {
                                        AppError::Conflict(said) => said,
                                        _ => "This link is not valid. Ask whoever sent it for a new one.".to_owned(),
                                    }}
                                </p>
                            }.into_any(),
                        };
                        let title = format!("Connect {} to {}", link.display_name, link.integration_name);
                        view! {
                            <Title text=title.clone()/>
                            <p class="muted small">{link.integration_name.clone()}</p>
                            <h1>{title}</h1>
                            {failed.map(|f| view! { <p class="notice error" role="alert" data-testid="connect-failed">{f}</p> })}
                            // Once connected, the page says so and offers nothing more to press.
                            {if connected {
                                view! {
                                    <p class="notice success" role="status" data-testid="connect-done">
                                        "Connected. You can close this page."
                                    </p>
                                    <p class="small"><a href=format!("/connect/{}", token.get_untracked())>"Change the connection"</a></p>
                                }.into_any()
                            } else { match link.auth {
                                AuthKind::Oauth2 if link.parameters.is_empty() => view! {
                                    <p>{format!("You will be asked to sign in to {} and allow the integration to use your account.", link.display_name)}</p>
                                    <a class="btn primary" rel="external" href=format!("/connect/{}/start", token.get_untracked())>
                                        {if link.connected { format!("Reconnect {}", link.display_name) } else { format!("Connect {}", link.display_name) }}
                                    </a>
                                }.into_any(),
                                // The parameters go with the start, in the query: they are
                                // not secret, and the provider's URLs are made from them.
                                AuthKind::Oauth2 => view! {
                                    <p>{format!("Say which {} account to use; then you will be asked to sign in to it and allow the integration to use it.", link.display_name)}</p>
                                    <form class="form" method="get" action=format!("/connect/{}/start", token.get_untracked())>
                                        {link.parameters.iter().map(|p| {
                                            let id = format!("param-{}", p.name);
                                            let help = format!("{id}-help");
                                            let typed = query.with(|q| q.get(&p.name)).unwrap_or_default();
                                            view! {
                                                <div class="field">
                                                    <label for=id.clone()>{p.label.clone()}</label>
                                                    <input id=id name=p.name.clone() type="text" value=typed required=true
                                                        autocomplete="off" spellcheck="false" aria-describedby=help.clone()
                                                        placeholder=p.example.clone()/>
                                                    <p class="hint-text" id=help>{p.help.clone()}</p>
                                                </div>
                                            }
                                        }).collect_view()}
                                        <button type="submit" class="btn primary">
                                            {if link.connected { format!("Reconnect {}", link.display_name) } else { format!("Connect {}", link.display_name) }}
                                        </button>
                                    </form>
                                }.into_any(),
                                AuthKind::ApiKey | AuthKind::Basic => view! {
                                    <ActionForm action=save attr:class="form" attr:novalidate=true>
                                        <input type="hidden" name="token" value=token.get_untracked()/>
                                        {link.fields.iter().map(|(name, label, secret)| {
                                            let id = format!("field-{name}");
                                            let key = format!("cred.{}.{name}", link.connector_name);
                                            view! {
                                                <div class="field">
                                                    <label for=id.clone()>{label.clone()}</label>
                                                    <input id=id name=format!("fields[{name}]") type=if *secret { "password" } else { "text" }
                                                        autocomplete="off" aria-required="true"/>
                                                    {move || error.get().and_then(|e| e.field_message(&key)).map(|m| view! { <p class="field-error">{m}</p> })}
                                                </div>
                                            }
                                        }).collect_view()}
                                        {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
                                        <button type="submit" class="btn primary">{if link.connected { "Replace credentials" } else { "Connect" }}</button>
                                    </ActionForm>
                                }.into_any(),
                                AuthKind::None => view! { <p>"Nothing to connect: this connector needs no credentials."</p> }.into_any(),
                            }}}
                        }.into_any()
                    })}
                </Suspense>
            </div>
        </main>
    }
}
