//! The tenant configuration form, drawn from the generated [`Form`] tree. It posts
//! plain fields (`input[cfg][<name>][<i>]`), so it works without JavaScript; with
//! JavaScript every change is checked at once by the same core code the server runs,
//! and a dependent selector follows its parent's current value.

use std::collections::BTreeSet;

use hub_core::domain::form::{
    error_key, parent_key_of_text, Choices, FieldKind, FieldSpec, Form, LayoutKind, Node, Opt, Raw, Values,
};
use hub_core::domain::integration::FieldError;
use leptos::prelude::*;

use crate::error::AppError;

/// What every field of one form shares; all of it is `Copy`.
#[derive(Clone, Copy)]
struct Ctx {
    form: StoredValue<Form>,
    dynamic: StoredValue<Values>,
    /// The form's current text; changed by input events (in the browser only).
    current: RwSignal<Raw>,
    /// Fields changed since the page loaded: their errors come from the live check.
    touched: RwSignal<BTreeSet<String>>,
    live: Memo<Vec<FieldError>>,
    server_error: Signal<Option<AppError>>,
}

impl Ctx {
    fn error(self, name: &str) -> Option<String> {
        let key = error_key(name);
        if self.touched.with(|t| t.contains(name)) {
            self.live.with(|es| es.iter().find(|e| e.field == key).map(|e| e.message.clone()))
        } else {
            self.server_error.get().and_then(|e| e.field_message(&key))
        }
    }

    fn set(self, name: &str, values: Vec<String>) {
        self.current.update(|c| {
            c.insert(name.to_owned(), values);
        });
        self.touched.update(|t| {
            t.insert(name.to_owned());
        });
    }

    /// The key a dependent field's options follow, tracked: it changes with the parent.
    fn parent_key(self, name: &str) -> Option<String> {
        self.current.with(|c| c.get(name).and_then(|v| v.first()).and_then(|t| parent_key_of_text(t)))
    }

    /// The first string of a field as the page loaded, untracked.
    fn first_untracked(self, name: &str) -> String {
        self.current.with_untracked(|c| c.get(name).and_then(|v| v.first().cloned()).unwrap_or_default())
    }
}

/// The fields of a configuration form, to be placed inside a `<form>`.
#[component]
pub fn ConfigFields(
    form: Form,
    dynamic: Values,
    raw: Raw,
    #[prop(into)] server_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let nodes = form.nodes.clone();
    let form = StoredValue::new(form);
    let dynamic = StoredValue::new(dynamic);
    let current = RwSignal::new(raw);
    let live = Memo::new(move |_| {
        current.with(|raw| form.with_value(|f| dynamic.with_value(|d| f.read(raw, d).err().unwrap_or_default())))
    });
    let ctx = Ctx { form, dynamic, current, touched: RwSignal::new(BTreeSet::new()), live, server_error };
    if nodes.is_empty() {
        return view! { <p class="muted">"This release has no configuration settings."</p> }.into_any();
    }
    nodes_view(nodes, ctx)
}

fn nodes_view(nodes: Vec<Node>, ctx: Ctx) -> AnyView {
    nodes.into_iter().map(|n| node_view(n, ctx)).collect_view().into_any()
}

fn node_view(node: Node, ctx: Ctx) -> AnyView {
    match node {
        Node::Field(f) => field_view(f, ctx),
        Node::Divider => view! { <hr class="form-divider"/> }.into_any(),
        Node::Label(text) => view! { <p class="form-label">{text}</p> }.into_any(),
        Node::Layout { kind, label, subtitle, hint, children } => {
            let inner = nodes_view(children, ctx);
            match kind {
                LayoutKind::Vertical => view! { <div class="form-stack">{inner}</div> }.into_any(),
                LayoutKind::Horizontal => view! { <div class="field-row">{inner}</div> }.into_any(),
                LayoutKind::Group => view! {
                    <fieldset class="form-group">
                        {label.map(|l| view! { <legend>{l}</legend> })}
                        {inner}
                    </fieldset>
                }
                .into_any(),
                LayoutKind::Section => view! {
                    <section class="form-section">
                        {label.map(|l| view! { <h3>{l}</h3> })}
                        {subtitle.map(|s| view! { <p class="form-subtitle">{s}</p> })}
                        {hint.map(|h| view! { <p class="hint-text">{h}</p> })}
                        {inner}
                    </section>
                }
                .into_any(),
            }
        }
    }
}

fn field_view(f: FieldSpec, ctx: Ctx) -> AnyView {
    let id = format!("cfg-{}", f.name);
    let error_id = format!("{id}-error");
    let name = f.name.clone();
    let error = Signal::derive({
        let name = name.clone();
        move || ctx.error(&name)
    });
    let label = view! {
        <label for=id.clone()>
            {f.label.clone()}
            {f.required.then_some(view! { <span class="required" aria-hidden="true">" *"</span> })}
            {f.admin.then_some(view! { <span class="badge admin" title="Shown to hub users only">"Admin only"</span> })}
        </label>
    };
    let hint = f.hint.clone().map(|h| view! { <p class="hint-text">{h}</p> });
    let error_line = {
        let error_id = error_id.clone();
        move || error.get().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })
    };
    let input = input_view(&f, &id, &error_id, error, ctx);
    let class = if matches!(f.kind, FieldKind::Checkbox) { "field checkbox-field" } else { "field" };
    view! {
        <div class=class data-field=name>
            {label}
            {hint}
            {input}
            {error_line}
        </div>
    }
    .into_any()
}

/// The `name` of the `i`th string of a field.
fn input_name(field: &str, i: usize) -> String {
    format!("input[cfg][{field}][{i}]")
}

fn input_view(f: &FieldSpec, id: &str, error_id: &str, error: Signal<Option<String>>, ctx: Ctx) -> AnyView {
    let name = f.name.clone();
    let initial = ctx.current.with_untracked(|c| c.get(&name).cloned().unwrap_or_default());
    let first = initial.first().cloned().unwrap_or_default();
    let invalid = move || error.get().is_some().then_some("true");
    let described = {
        let error_id = error_id.to_owned();
        move || error.get().is_some().then(|| error_id.clone())
    };
    let on_text = {
        let name = name.clone();
        move |ev: leptos::ev::Event| ctx.set(&name, vec![event_target_value(&ev)])
    };
    let text_input = |kind: &'static str, step: Option<&'static str>, min: Option<f64>, max: Option<f64>| {
        view! {
            <input id=id.to_owned() name=input_name(&name, 0) type=kind value=first.clone() step=step
                min=min.map(|m| m.to_string()) max=max.map(|m| m.to_string())
                aria-required=f.required.then_some("true") aria-invalid=invalid aria-describedby=described.clone()
                on:input=on_text.clone()/>
        }
        .into_any()
    };
    match &f.kind {
        FieldKind::Text => text_input("text", None, None, None),
        FieldKind::Integer { min, max } => text_input("number", Some("1"), *min, *max),
        FieldKind::Number { min, max } => text_input("number", Some("any"), *min, *max),
        FieldKind::Date => text_input("date", None, None, None),
        FieldKind::Time => text_input("time", None, None, None),
        FieldKind::DateTime => text_input("datetime-local", None, None, None),
        FieldKind::Checkbox => {
            let checked = first == "true";
            view! {
                <input id=id.to_owned() name=input_name(&name, 0) type="checkbox" value="true" checked=checked
                    aria-invalid=invalid aria-describedby=described
                    on:change=move |ev| ctx.set(&name, if event_target_checked(&ev) { vec!["true".into()] } else { Vec::new() })/>
            }
            .into_any()
        }
        FieldKind::Select { options } => select_view(f, id, options.clone(), invalid, described, ctx),
        FieldKind::MultiSelect { options } => checks_view(f, id, options.clone(), ctx),
        FieldKind::Dynamic { multi, depends_on, .. } => {
            let spec = f.clone();
            let multi = *multi;
            let parent = depends_on.clone();
            let id = id.to_owned();
            // Recomputed when the parent's value changes (with JavaScript).
            let choices = Memo::new(move |_| {
                let parent_value = parent.as_deref().and_then(|p| ctx.parent_key(p));
                ctx.form.with_value(|form| ctx.dynamic.with_value(|d| form.choices(&spec, d, parent_value.as_deref())))
            });
            let spec = f.clone();
            (move || match choices.get() {
                Choices::Ready(options) if multi => checks_view(&spec, &id, options, ctx),
                Choices::Ready(options) => select_view(&spec, &id, options, invalid, described.clone(), ctx),
                Choices::AwaitingInit => view! {
                    <select id=id.clone() disabled=true aria-describedby=format!("{id}-why")>
                        <option>"Not available yet"</option>
                    </select>
                    <p class="hint-text dynamic-note" id=format!("{id}-why")>
                        "These options become available after the tenant's first init sync."
                    </p>
                }
                .into_any(),
                Choices::AwaitingParent { parent } => view! {
                    <select id=id.clone() disabled=true aria-describedby=format!("{id}-why")>
                        <option>"Not available yet"</option>
                    </select>
                    <p class="hint-text dynamic-note" id=format!("{id}-why")>{format!("Choose {parent} first.")}</p>
                }
                .into_any(),
            })
            .into_any()
        }
    }
}

fn select_view(
    f: &FieldSpec,
    id: &str,
    options: Vec<Opt>,
    invalid: impl Fn() -> Option<&'static str> + Send + Sync + 'static,
    described: impl Fn() -> Option<String> + Send + Sync + 'static,
    ctx: Ctx,
) -> AnyView {
    let name = f.name.clone();
    let chosen = ctx.first_untracked(&name);
    let texts: Vec<String> = options.iter().map(|o| hub_core::domain::form::text_of(&o.value)).collect();
    // A stored value that is not an option any more stays visible, so nothing is lost silently.
    let stray = (!chosen.is_empty() && !texts.contains(&chosen)).then(|| chosen.clone());
    view! {
        <select id=id.to_owned() name=input_name(&name, 0)
            aria-required=f.required.then_some("true") aria-invalid=invalid aria-describedby=described
            on:change={
                let name = name.clone();
                move |ev| ctx.set(&name, vec![event_target_value(&ev)])
            }>
            <option value="" selected=chosen.is_empty()>"Choose…"</option>
            {options.into_iter().zip(texts).map(|(o, text)| {
                let selected = text == chosen;
                view! { <option value=text selected=selected>{o.label}</option> }
            }).collect_view()}
            {stray.map(|s| { let label = s.clone(); view! { <option value=s selected=true>{label}</option> } })}
        </select>
    }
    .into_any()
}

/// A multi-select as a list of checkboxes: readable, and it works without JavaScript.
fn checks_view(f: &FieldSpec, id: &str, options: Vec<Opt>, ctx: Ctx) -> AnyView {
    let name = f.name.clone();
    let chosen = ctx.current.with_untracked(|c| c.get(&name).cloned().unwrap_or_default());
    if options.is_empty() {
        return view! { <p class="muted" id=id.to_owned()>"No options."</p> }.into_any();
    }
    view! {
        <div class="checks" id=id.to_owned() role="group">
            {options.into_iter().enumerate().map(|(i, o)| {
                let text = hub_core::domain::form::text_of(&o.value);
                let checked = chosen.contains(&text);
                let (name, value) = (name.clone(), text.clone());
                view! {
                    <label class="check">
                        <input type="checkbox" name=input_name(&name, i) value=text checked=checked
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                let mut list = ctx.current.with_untracked(|c| c.get(&name).cloned().unwrap_or_default());
                                list.retain(|v| v != &value);
                                if on {
                                    list.push(value.clone());
                                }
                                ctx.set(&name, list);
                            }/>
                        {o.label}
                    </label>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}
