//! The configuration form generated from PANDIUM.yaml: each element and property kind,
//! `$ref`, defaults, bounds, required values, dynamic placeholders and dependent options.

use hub_core::domain::form::{Audience, Choices, FieldKind, Form, LayoutKind, Node, Raw, Values};
use hub_core::domain::manifest::Manifest;
use serde_json::{json, Value};

fn form_of(configs: &str, audience: Audience) -> Form {
    let text = format!("version: 1.0\nrun: x\nconfigs:\n{configs}");
    let m = Manifest::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    Form::build(&m.configs, audience)
}

fn raw(pairs: &[(&str, &[&str])]) -> Raw {
    pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
}

fn values(v: Value) -> Values {
    v.as_object().cloned().expect("object")
}

const KINDS: &str = r#"
  schema:
    type: object
    required: [channel, level]
    properties:
      channel: { type: string, default: general, title: Channel }
      batch_size: { type: integer, default: 50, min: 1, max: 500 }
      ratio: { type: number, minimum: 0.5, maximum: 2.5 }
      include_archived: { type: boolean, default: false }
      since: { type: string, format: date }
      at: { type: string, format: time }
      from: { type: string, format: date-time }
      level: { $ref: '#/definitions/levels' }
      color: { type: string, oneOf: [{ const: r, title: Red }, { const: g, title: Green }] }
      tags: { type: array, items: { type: string, enum: [a, b, c] } }
      priority: { type: integer, enum: [1, 2, 3] }
    definitions:
      levels: { enum: [debug, info, warn], description: How much to log }
"#;

#[test]
fn every_property_kind_becomes_its_input() {
    let form = form_of(KINDS, Audience::Hub);
    let kinds: Vec<(&str, &FieldKind)> = form.fields().iter().map(|f| (f.name.as_str(), &f.kind)).collect();
    assert_eq!(kinds.len(), 11, "no uischema: every property, in order");
    assert_eq!(kinds[0], ("channel", &FieldKind::Text));
    assert_eq!(kinds[1], ("batch_size", &FieldKind::Integer { min: Some(1.0), max: Some(500.0) }));
    assert_eq!(kinds[2], ("ratio", &FieldKind::Number { min: Some(0.5), max: Some(2.5) }));
    assert_eq!(kinds[3], ("include_archived", &FieldKind::Checkbox));
    assert_eq!(kinds[4], ("since", &FieldKind::Date));
    assert_eq!(kinds[5], ("at", &FieldKind::Time));
    assert_eq!(kinds[6], ("from", &FieldKind::DateTime));
    let FieldKind::Select { options } = kinds[7].1 else { panic!("level is a select: {:?}", kinds[7]) };
    assert_eq!(options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), ["debug", "info", "warn"]);
    let FieldKind::Select { options } = kinds[8].1 else { panic!("color is a labelled select") };
    assert_eq!((options[0].value.clone(), options[0].label.as_str()), (json!("r"), "Red"));
    assert!(matches!(kinds[9].1, FieldKind::MultiSelect { options } if options.len() == 3));
    let level = form.field("level").expect("level");
    assert_eq!(level.hint.as_deref(), Some("How much to log"), "a $ref brings its definition's description");
    assert!(level.required && form.field("channel").expect("channel").required);
    assert!(!form.field("ratio").expect("ratio").required);
    assert_eq!(form.field("batch_size").expect("b").label, "Batch size", "labels fall back to the name");
}

#[test]
fn defaults_prefill_and_round_trip_through_the_form() {
    let form = form_of(KINDS, Audience::Hub);
    let defaults = form.defaults();
    assert_eq!(
        Value::Object(defaults.clone()),
        json!({ "channel": "general", "batch_size": 50, "include_archived": false })
    );
    let mut stored = defaults.clone();
    stored.insert("level".into(), json!("info"));
    stored.insert("tags".into(), json!(["a", "c"]));
    stored.insert("priority".into(), json!(2));
    let back = form.read(&form.to_raw(&stored), &Values::new()).expect("valid");
    assert_eq!(back, stored, "numbers stay numbers, lists stay lists");
}

#[test]
fn typed_text_is_checked_and_every_error_names_its_field() {
    let form = form_of(KINDS, Audience::Hub);
    let typed = raw(&[
        ("channel", &[""]),
        ("batch_size", &["0"]),
        ("ratio", &["abc"]),
        ("since", &["2026-13-01"]),
        ("at", &["25:00"]),
        ("from", &["yesterday"]),
        ("level", &["loud"]),
        ("tags", &["a", "z"]),
    ]);
    let errors = form.read(&typed, &Values::new()).expect_err("invalid");
    let by_field: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
    assert!(by_field.contains(&("cfg.channel", "Channel is required.")), "{by_field:?}");
    assert!(by_field.contains(&("cfg.batch_size", "At least 1.")), "{by_field:?}");
    assert!(by_field.contains(&("cfg.ratio", "Enter a number, not \"abc\".")), "{by_field:?}");
    for f in ["cfg.since", "cfg.at", "cfg.from", "cfg.level", "cfg.tags"] {
        assert!(by_field.iter().any(|(k, _)| *k == f), "{f} in {by_field:?}");
    }
    let over = raw(&[("channel", &["x"]), ("level", &["info"]), ("batch_size", &["501"]), ("ratio", &["2.6"])]);
    let errors = form.read(&over, &Values::new()).expect_err("over");
    assert_eq!(errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["At most 500.", "At most 2.5."]);
    let fine = raw(&[
        ("channel", &["x"]),
        ("level", &["warn"]),
        ("include_archived", &["true"]),
        ("from", &["2026-03-01T09:30"]),
        ("at", &["09:30"]),
    ]);
    let v = form.read(&fine, &Values::new()).expect("valid");
    assert_eq!(v["include_archived"], json!(true));
    assert!(!v.contains_key("batch_size"), "an empty optional field stays unset");
}

const LAYOUT: &str = r#"
  schema:
    properties:
      channel: { type: string }
      user: { $ref: '#/definitions/users' }
      batch: { type: integer }
      a: { type: string }
      b: { type: string }
      many: { type: array, items: { enum: [x, y] } }
    definitions:
      users: { type: string, oneOf: [{ const: placeholder, title: Placeholder }] }
  uischema:
    type: VerticalLayout
    elements:
      - type: Section
        label: Where to post
        subtitle: The destination
        hintText: Pick a channel and a user
        elements:
          - { type: Control, scope: '#/properties/channel', label: Slack channel, hintText: Without the '#' }
          - { type: Control, scope: '#/properties/user' }
      - { type: Divider }
      - { type: Label, title: Advanced }
      - type: Group
        label: Pair
        elements:
          - type: HorizontalLayout
            elements:
              - { type: Control, scope: '#/properties/a' }
              - { type: Control, scope: '#/properties/b' }
      - { type: MultiSelectControl, scope: '#/properties/many' }
      - { type: Control, scope: '#/properties/batch', admin: true }
"#;

#[test]
fn the_uischema_tree_is_kept_with_its_texts() {
    let form = form_of(LAYOUT, Audience::Hub);
    let [Node::Layout { kind: LayoutKind::Vertical, children, .. }] = form.nodes.as_slice() else {
        panic!("one vertical layout at the top: {:?}", form.nodes)
    };
    let Node::Layout { kind: LayoutKind::Section, label, subtitle, hint, children: section } = &children[0] else {
        panic!("a section first")
    };
    assert_eq!(
        (label.as_deref(), subtitle.as_deref(), hint.as_deref()),
        (Some("Where to post"), Some("The destination"), Some("Pick a channel and a user"))
    );
    let Node::Field(channel) = &section[0] else { panic!("a control") };
    assert_eq!((channel.label.as_str(), channel.hint.as_deref()), ("Slack channel", Some("Without the '#'")));
    assert_eq!(children[1], Node::Divider);
    assert_eq!(children[2], Node::Label("Advanced".into()));
    let Node::Layout { kind: LayoutKind::Group, label, children: group, .. } = &children[3] else { panic!("group") };
    assert_eq!(label.as_deref(), Some("Pair"));
    assert!(matches!(&group[0], Node::Layout { kind: LayoutKind::Horizontal, children, .. } if children.len() == 2));
    let names: Vec<_> = form.fields().iter().map(|f| f.name.clone()).collect();
    assert_eq!(names, ["channel", "user", "a", "b", "many", "batch"]);
    assert!(form.field("batch").expect("batch").admin);
}

#[test]
fn admin_only_controls_are_left_out_for_end_users() {
    let form = form_of(LAYOUT, Audience::EndUser);
    assert!(form.field("batch").is_none());
    assert_eq!(form.fields().len(), 5);
}

const DYNAMIC: &str = r#"
  schema:
    required: [food_type, food]
    properties:
      food_type: { $ref: '#/definitions/food_types' }
      food: { $ref: '#/definitions/foods' }
      extras: { type: array, items: { $ref: '#/definitions/extras' } }
    definitions:
      food_types: { type: string, oneOf: [{ const: placeholder, title: Placeholder }] }
      foods: { type: string, enum: [placeholder] }
      extras: { type: string, oneOf: [{ const: placeholder, title: Placeholder }] }
  uischema:
    type: VerticalLayout
    elements:
      - { type: Control, scope: '#/properties/food_type' }
      - { type: Control, scope: '#/properties/food', options: { dependsOn: food_type } }
      - { type: MultiSelectControl, scope: '#/properties/extras' }
"#;

#[test]
fn dynamic_fields_wait_for_the_first_init_sync() {
    let form = form_of(DYNAMIC, Audience::Hub);
    let food = form.field("food").expect("food");
    assert_eq!(
        food.kind,
        FieldKind::Dynamic { definition: "foods".into(), multi: false, depends_on: Some("food_type".into()) }
    );
    assert!(matches!(form.field("extras").expect("extras").kind, FieldKind::Dynamic { multi: true, .. }));
    let none = Values::new();
    assert_eq!(form.choices(food, &none, None), Choices::AwaitingInit);
    // Before the init sync, required dynamic fields cannot be asked for.
    assert_eq!(form.read(&Raw::new(), &none), Ok(Values::new()));
    assert!(form.missing(&Values::new(), &none).is_empty());
    let chosen = form.read(&raw(&[("food_type", &["sweet"])]), &none).expect_err("no options yet");
    assert_eq!(chosen[0].message, "Its options appear after the tenant's first init sync.");
}

#[test]
fn dependent_options_follow_the_parent_value() {
    let form = form_of(DYNAMIC, Audience::Hub);
    let dynamic = values(json!({
        "food_types": [{ "const": "sweet", "title": "Sweet" }, { "const": "savory", "title": "Savory" }],
        "foods": { "sweet": ["cake", "jello"], "savory": [{ "const": "soup", "title": "Soup" }] },
        "extras": ["salt", "pepper"]
    }));
    let food = form.field("food").expect("food");
    assert_eq!(form.choices(food, &dynamic, None), Choices::AwaitingParent { parent: "Food type".into() });
    let Choices::Ready(sweet) = form.choices(food, &dynamic, Some("sweet")) else { panic!("ready") };
    assert_eq!(sweet.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), ["cake", "jello"]);
    let Choices::Ready(savory) = form.choices(food, &dynamic, Some("savory")) else { panic!("ready") };
    assert_eq!(savory[0].label, "Soup");

    let ok = form
        .read(&raw(&[("food_type", &["savory"]), ("food", &["soup"]), ("extras", &["salt"])]), &dynamic)
        .expect("valid");
    assert_eq!(Value::Object(ok), json!({ "food_type": "savory", "food": "soup", "extras": ["salt"] }));
    let wrong = form.read(&raw(&[("food_type", &["savory"]), ("food", &["cake"])]), &dynamic).expect_err("cake");
    assert_eq!((wrong[0].field.as_str(), wrong[0].message.as_str()), ("cfg.food", "cake is not one of the options."));
    let missing = form.read(&raw(&[("food_type", &["sweet"])]), &dynamic).expect_err("food is required");
    assert_eq!(missing[0].message, "Food is required.");
    assert_eq!(form.missing(&values(json!({ "food_type": "sweet" })), &dynamic), ["Food"]);
}

#[test]
fn a_save_keeps_what_the_form_could_not_edit() {
    let form = form_of(DYNAMIC, Audience::Hub);
    let stored = values(json!({ "food_type": "sweet", "food": "cake", "hidden": 7 }));
    // Before the init sync's options exist, the dynamic fields cannot be posted: their
    // stored values stay, as does a value of no field at all.
    let read = form.read(&Raw::new(), &Values::new()).expect("nothing to check");
    assert_eq!(form.merge(&stored, read, &Values::new()), stored);
    // Once they exist, what the form sent is what is stored.
    let dynamic = values(json!({ "food_types": ["sweet", "savory"], "foods": { "savory": ["soup"] }, "extras": [] }));
    let read = form.read(&raw(&[("food_type", &["savory"]), ("food", &["soup"])]), &dynamic).expect("valid");
    assert_eq!(
        Value::Object(form.merge(&stored, read, &dynamic)),
        json!({ "food_type": "savory", "food": "soup", "hidden": 7 })
    );
}

#[test]
fn defaults_cover_properties_the_layout_leaves_out() {
    let text = "version: 1.0\nrun: x\nconfigs:\n  schema:\n    properties:\n      shown: { type: string, default: a }\n      cursor: { type: string, default: start }\n      level: { $ref: '#/definitions/levels' }\n    definitions:\n      levels: { enum: [debug, info], default: info }\n  uischema:\n    type: VerticalLayout\n    elements:\n      - { type: Control, scope: '#/properties/shown' }\n";
    let m = Manifest::parse(text).expect("manifest");
    assert_eq!(
        Value::Object(hub_core::domain::form::schema_defaults(&m.configs)),
        json!({ "shown": "a", "cursor": "start", "level": "info" })
    );
}

#[test]
fn a_boolean_or_list_parent_keys_its_child_the_same_way_on_both_sides() {
    use hub_core::domain::form::{parent_key, parent_key_of_text};
    assert_eq!(parent_key(Some(&json!(false))), None);
    assert_eq!(parent_key_of_text(""), None);
    assert_eq!(parent_key(Some(&json!(true))), parent_key_of_text("true"));
    assert_eq!(parent_key(Some(&json!(["a", "b"]))), parent_key_of_text("a"));
    assert_eq!(parent_key(Some(&json!(3))), parent_key_of_text(" 3 "));
}

#[test]
fn stored_date_times_show_in_the_browser_s_format() {
    let form = form_of(KINDS, Audience::Hub);
    let raw = form.to_raw(&values(json!({ "from": "2026-03-01T09:30:00Z" })));
    assert_eq!(raw["from"], ["2026-03-01T09:30"]);
}
