//! The tenant configuration form, generated from a release's `configs.schema` and
//! `configs.uischema`: the tree of elements to show, how typed text becomes config
//! values, and the rules those values must keep. The browser (live, while typing) and
//! the server (on save) run this same code.
//!
//! Text travels as [`Raw`]: each field's name with the list of strings the form sent
//! (one for most fields, any number for a multi-select, none for an unticked box).
//!
//! It is one file because building, reading and checking share the field types and
//! their private helpers: together they are the form's one set of rules.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::integration::FieldError;
use super::manifest::{ConfigModel, ObjectSchema, Property, UiElement};

/// Config values by property name, as stored and as handed to runs.
pub type Values = Map<String, Value>;
/// What the form sent: each field's strings.
pub type Raw = BTreeMap<String, Vec<String>>;

/// Who fills the form in: hub users also see the controls marked `admin: true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    Hub,
    EndUser,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayoutKind {
    Vertical,
    Horizontal,
    Group,
    Section,
}

/// One element of the generated form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Node {
    Layout {
        kind: LayoutKind,
        label: Option<String>,
        subtitle: Option<String>,
        hint: Option<String>,
        children: Vec<Node>,
    },
    Label(String),
    Divider,
    Field(FieldSpec),
}

/// One input of the form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// The property name: the key of its value.
    pub name: String,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// Shown to hub users only.
    pub admin: bool,
    pub kind: FieldKind,
    pub default: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FieldKind {
    Text,
    Integer {
        min: Option<f64>,
        max: Option<f64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Checkbox,
    Date,
    Time,
    DateTime,
    Select {
        options: Vec<Opt>,
    },
    MultiSelect {
        options: Vec<Opt>,
    },
    /// Options an init run provides, stored under `definition` in the tenant's
    /// dynamic options; with `depends_on`, keyed by that field's current value.
    Dynamic {
        definition: String,
        multi: bool,
        depends_on: Option<String>,
    },
}

/// An option of a select: the value stored, and what the user reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Opt {
    pub value: Value,
    pub label: String,
}

/// What a select can offer right now.
#[derive(Clone, Debug, PartialEq)]
pub enum Choices {
    Ready(Vec<Opt>),
    /// A dynamic field before the tenant's first init sync has stored its options.
    AwaitingInit,
    /// A dependent field whose parent has no value yet.
    AwaitingParent {
        parent: String,
    },
}

/// The generated form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Form {
    pub nodes: Vec<Node>,
}

impl Form {
    /// The form for `audience`: the uischema's tree, or every property in order when
    /// there is none. Controls marked `admin` are left out for end users.
    pub fn build(model: &ConfigModel, audience: Audience) -> Self {
        let schema = &model.schema;
        let nodes = match &model.uischema {
            Some(ui) => element(ui, schema, audience).into_iter().collect(),
            None => schema.properties.iter().map(|(name, prop)| Node::Field(field(schema, name, prop, None))).collect(),
        };
        Self { nodes }
    }

    /// Every field, in the order shown.
    pub fn fields(&self) -> Vec<&FieldSpec> {
        fn walk<'a>(nodes: &'a [Node], out: &mut Vec<&'a FieldSpec>) {
            for n in nodes {
                match n {
                    Node::Field(f) => out.push(f),
                    Node::Layout { children, .. } => walk(children, out),
                    Node::Label(_) | Node::Divider => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.nodes, &mut out);
        out
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields().into_iter().find(|f| f.name == name)
    }

    /// The defaults of every field that has one: a new tenant's starting values.
    pub fn defaults(&self) -> Values {
        self.fields().into_iter().filter_map(|f| Some((f.name.clone(), f.default.clone()?))).collect()
    }

    /// The values a save stores: what the form read, for every field it could edit;
    /// the stored value for everything else (a property the layout leaves out, a
    /// dynamic field whose options are not there yet).
    pub fn merge(&self, stored: &Values, read: Values, dynamic: &Values) -> Values {
        let mut out = stored.clone();
        for f in self.fields() {
            if !matches!(self.choices(f, dynamic, parent_text(f, &read).as_deref()), Choices::Ready(_)) {
                continue;
            }
            match read.get(&f.name) {
                Some(v) => out.insert(f.name.clone(), v.clone()),
                None => out.remove(&f.name),
            };
        }
        out
    }

    /// Stored values as the form shows them.
    pub fn to_raw(&self, values: &Values) -> Raw {
        self.fields()
            .into_iter()
            .filter_map(|f| {
                let v = values.get(&f.name)?;
                let texts = match v {
                    // A browser's date-time input takes local "YYYY-MM-DDTHH:MM" only.
                    Value::String(s) if f.kind == FieldKind::DateTime => vec![chrono::DateTime::parse_from_rfc3339(s)
                        .map(|t| t.naive_utc().format("%Y-%m-%dT%H:%M").to_string())
                        .unwrap_or_else(|_| s.clone())],
                    Value::Array(items) => items.iter().map(text_of).collect(),
                    Value::Bool(false) => Vec::new(),
                    Value::Null => Vec::new(),
                    other => vec![text_of(other)],
                };
                Some((f.name.clone(), texts))
            })
            .collect()
    }

    /// Reads what the form sent into values, checking every rule. Every broken rule is
    /// returned, each naming its field as `cfg.<name>`.
    pub fn read(&self, raw: &Raw, dynamic: &Values) -> Result<Values, Vec<FieldError>> {
        let mut values = Values::new();
        let mut errors = Vec::new();
        for f in self.fields() {
            let texts: Vec<&str> = raw
                .get(&f.name)
                .map(|v| v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            match parse(f, &texts, self, &values, raw, dynamic) {
                Ok(Some(v)) => {
                    values.insert(f.name.clone(), v);
                }
                Ok(None) => {}
                Err(message) => errors.push(FieldError { field: error_key(&f.name), message }),
            }
        }
        for f in self.fields() {
            if errors.iter().any(|e| e.field == error_key(&f.name)) {
                continue;
            }
            if let Err(message) = check(f, values.get(&f.name), self, &values, dynamic) {
                errors.push(FieldError { field: error_key(&f.name), message });
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    /// What a select field can offer, given the tenant's dynamic options and the form's
    /// current values (a dependent field follows its parent's value).
    pub fn choices(&self, f: &FieldSpec, dynamic: &Values, parent_value: Option<&str>) -> Choices {
        match &f.kind {
            FieldKind::Select { options } | FieldKind::MultiSelect { options } => Choices::Ready(options.clone()),
            FieldKind::Dynamic { definition, depends_on, .. } => match (dynamic.get(definition), depends_on) {
                (None, _) => Choices::AwaitingInit,
                (Some(Value::Object(by_parent)), Some(parent)) => match parent_value.filter(|v| !v.is_empty()) {
                    None => Choices::AwaitingParent {
                        parent: self.field(parent).map_or(parent.clone(), |p| p.label.clone()),
                    },
                    Some(v) => Choices::Ready(by_parent.get(v).map(options_from).unwrap_or_default()),
                },
                (Some(list), _) => Choices::Ready(options_from(list)),
            },
            _ => Choices::Ready(Vec::new()),
        }
    }

    /// Which required values are still missing, by label: what an unfinished tenant lacks.
    pub fn missing(&self, values: &Values, dynamic: &Values) -> Vec<String> {
        self.fields()
            .into_iter()
            .filter(|f| f.required && is_empty(values.get(&f.name)))
            .filter(|f| matches!(self.choices(f, dynamic, parent_text(f, values).as_deref()), Choices::Ready(_)))
            .map(|f| f.label.clone())
            .collect()
    }
}

/// Values as JSON (the REST API's) in the shape a posted form has, so one reader checks
/// both: strings as they are, numbers and booleans as their text, arrays item by item.
pub fn raw_from_values(values: &Values) -> Raw {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    values
        .iter()
        .map(|(k, v)| {
            let texts = match v {
                Value::Null => Vec::new(),
                Value::Array(items) => items.iter().map(text).collect(),
                other => vec![text(other)],
            };
            (k.clone(), texts)
        })
        .collect()
}

/// The default of every property of the schema, shown in the form or not: a new
/// tenant's starting values.
pub fn schema_defaults(model: &ConfigModel) -> Values {
    let schema = &model.schema;
    schema
        .properties
        .iter()
        .filter_map(|(name, p)| Some((name.clone(), p.default.clone().or_else(|| schema.resolve(p).default.clone())?)))
        .collect()
}

/// The error key of a config field.
pub fn error_key(name: &str) -> String {
    format!("cfg.{name}")
}

fn element(ui: &UiElement, schema: &ObjectSchema, audience: Audience) -> Option<Node> {
    let children = || ui.elements.iter().filter_map(|e| element(e, schema, audience)).collect();
    let layout = |kind| Node::Layout {
        kind,
        label: ui.label.clone().or_else(|| ui.title.clone()),
        subtitle: ui.subtitle.clone(),
        hint: ui.hint_text.clone(),
        children: children(),
    };
    match ui.kind.as_str() {
        "VerticalLayout" => Some(layout(LayoutKind::Vertical)),
        "HorizontalLayout" => Some(layout(LayoutKind::Horizontal)),
        "Group" => Some(layout(LayoutKind::Group)),
        "Section" => Some(layout(LayoutKind::Section)),
        "Label" => Some(Node::Label(ui.title.clone().or_else(|| ui.label.clone()).unwrap_or_default())),
        "Divider" => Some(Node::Divider),
        "Control" | "MultiSelectControl" => {
            if ui.admin && audience == Audience::EndUser {
                return None;
            }
            let name = ui.scope.as_deref()?.strip_prefix("#/properties/")?;
            let prop = schema.properties.get(name)?;
            let mut f = field(schema, name, prop, Some(ui));
            f.admin = ui.admin;
            if ui.kind == "MultiSelectControl" {
                f.kind = match f.kind {
                    FieldKind::Select { options } => FieldKind::MultiSelect { options },
                    FieldKind::Dynamic { definition, depends_on, .. } => {
                        FieldKind::Dynamic { definition, multi: true, depends_on }
                    }
                    other => other,
                };
            }
            Some(Node::Field(f))
        }
        _ => None,
    }
}

fn field(schema: &ObjectSchema, name: &str, prop: &Property, ui: Option<&UiElement>) -> FieldSpec {
    let def = schema.resolve(prop);
    let kind_name = prop.kind.as_deref().or(def.kind.as_deref());
    let min = prop.min.or(def.min);
    let max = prop.max.or(def.max);
    let depends_on = ui
        .and_then(|u| u.options.as_ref())
        .and_then(|o| o.get("dependsOn"))
        .and_then(Value::as_str)
        .map(|s| s.strip_prefix("#/properties/").unwrap_or(s).to_owned());
    let definition_name =
        |p: &Property| p.reference.as_deref().and_then(|r| r.strip_prefix("#/definitions/")).unwrap_or(name).to_owned();
    let kind = if def.is_dynamic() {
        FieldKind::Dynamic { definition: definition_name(prop), multi: false, depends_on }
    } else if kind_name == Some("array") {
        let items = prop.items.as_deref().or(def.items.as_deref());
        match items {
            Some(item) if schema.resolve(item).is_dynamic() => {
                FieldKind::Dynamic { definition: definition_name(item), multi: true, depends_on }
            }
            Some(item) => FieldKind::MultiSelect { options: fixed_options(schema.resolve(item)) },
            None => FieldKind::MultiSelect { options: Vec::new() },
        }
    } else if def.one_of.is_some() || def.enum_values.is_some() || prop.one_of.is_some() || prop.enum_values.is_some() {
        let source = if prop.one_of.is_some() || prop.enum_values.is_some() { prop } else { def };
        FieldKind::Select { options: fixed_options(source) }
    } else {
        match (kind_name, prop.format.as_deref().or(def.format.as_deref())) {
            (Some("boolean"), _) => FieldKind::Checkbox,
            (Some("integer"), _) => FieldKind::Integer { min, max },
            (Some("number"), _) => FieldKind::Number { min, max },
            (_, Some("date")) => FieldKind::Date,
            (_, Some("time")) => FieldKind::Time,
            (_, Some("date-time")) => FieldKind::DateTime,
            _ => FieldKind::Text,
        }
    };
    FieldSpec {
        name: name.to_owned(),
        label: ui
            .and_then(|u| u.label.clone())
            .or_else(|| prop.title.clone())
            .or_else(|| def.title.clone())
            .unwrap_or_else(|| humanize(name)),
        hint: ui
            .and_then(|u| u.hint_text.clone())
            .or_else(|| prop.description.clone())
            .or_else(|| def.description.clone()),
        required: schema.required.iter().any(|r| r == name),
        admin: false,
        kind,
        default: prop.default.clone().or_else(|| def.default.clone()),
    }
}

fn fixed_options(p: &Property) -> Vec<Opt> {
    match (&p.one_of, &p.enum_values) {
        (Some(choices), _) => choices
            .iter()
            .map(|c| Opt { label: c.title.clone().unwrap_or_else(|| text_of(&c.value)), value: c.value.clone() })
            .collect(),
        (None, Some(values)) => values.iter().map(|v| Opt { value: v.clone(), label: text_of(v) }).collect(),
        _ => Vec::new(),
    }
}

/// Options as an init run prints them: `{const, title}` objects or plain values.
fn options_from(list: &Value) -> Vec<Opt> {
    let Value::Array(items) = list else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(o) if o.contains_key("const") => {
                let value = o["const"].clone();
                let label = o.get("title").and_then(Value::as_str).map_or_else(|| text_of(&value), str::to_owned);
                Opt { value, label }
            }
            other => Opt { value: other.clone(), label: text_of(other) },
        })
        .collect()
}

/// "batch_size" → "Batch size".
fn humanize(name: &str) -> String {
    let words = name.replace(['_', '-'], " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A value as a form shows it (strings without quotes).
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// The current value of a dependent field's parent, as the key of its options.
fn parent_text(f: &FieldSpec, values: &Values) -> Option<String> {
    let FieldKind::Dynamic { depends_on: Some(parent), .. } = &f.kind else {
        return None;
    };
    parent_key(values.get(parent))
}

/// How a parent's value keys a dependent field's options: its text (the first item of
/// a list); nothing for an empty or unticked value. The browser reads the same key
/// from the parent's first posted string with [`parent_key_of_text`].
pub fn parent_key(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null | Value::Bool(false) => None,
        Value::Array(items) => parent_key(items.first()),
        other => parent_key_of_text(&text_of(other)),
    }
}

/// [`parent_key`] of a value as the form holds it: its first string, trimmed.
pub fn parent_key_of_text(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && t != "false").then(|| t.to_owned())
}

/// The option whose text is `text`, so that numbers stay numbers.
fn pick(options: &[Opt], text: &str) -> Value {
    options
        .iter()
        .find(|o| text_of(&o.value) == text)
        .map_or_else(|| Value::String(text.to_owned()), |o| o.value.clone())
}

/// Typed text to a value; `None` when nothing was given.
fn parse(
    f: &FieldSpec,
    texts: &[&str],
    form: &Form,
    so_far: &Values,
    raw: &Raw,
    dynamic: &Values,
) -> Result<Option<Value>, String> {
    let first = texts.first().copied();
    Ok(match &f.kind {
        FieldKind::Checkbox => Some(Value::Bool(first.is_some_and(|t| t != "false" && t != "off"))),
        _ if texts.is_empty() => None,
        FieldKind::Integer { .. } => {
            let t = first.unwrap_or_default();
            Some(Value::from(t.parse::<i64>().map_err(|_| format!("Enter a whole number, not {t:?}."))?))
        }
        FieldKind::Number { .. } => {
            let t = first.unwrap_or_default();
            let n =
                t.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| format!("Enter a number, not {t:?}."))?;
            Some(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
        }
        FieldKind::Select { options } => first.map(|t| pick(options, t)),
        FieldKind::MultiSelect { options } => Some(Value::Array(texts.iter().map(|t| pick(options, t)).collect())),
        FieldKind::Dynamic { multi, depends_on, .. } => {
            // A dependent field's parent may come later in the form: read it from the raw text.
            let parent = depends_on.as_ref().and_then(|p| match so_far.get(p) {
                Some(v) => parent_key(Some(v)),
                None => raw.get(p).and_then(|v| v.first()).and_then(|t| parent_key_of_text(t)),
            });
            let options = match form.choices(f, dynamic, parent.as_deref()) {
                Choices::Ready(o) => o,
                _ => Vec::new(),
            };
            if *multi {
                Some(Value::Array(texts.iter().map(|t| pick(&options, t)).collect()))
            } else {
                first.map(|t| pick(&options, t))
            }
        }
        FieldKind::Text | FieldKind::Date | FieldKind::Time | FieldKind::DateTime => {
            first.map(|t| Value::String(t.to_owned()))
        }
    })
}

/// The rules one value must keep.
fn check(f: &FieldSpec, v: Option<&Value>, form: &Form, values: &Values, dynamic: &Values) -> Result<(), String> {
    let parent = parent_text(f, values);
    let choices = form.choices(f, dynamic, parent.as_deref());
    if is_empty(v) {
        // A dynamic field cannot be filled in before its options exist.
        return if f.required && matches!(choices, Choices::Ready(_)) {
            Err(format!("{} is required.", f.label))
        } else {
            Ok(())
        };
    }
    let Some(v) = v else { return Ok(()) };
    let bounds = |n: f64, min: &Option<f64>, max: &Option<f64>| match (min, max) {
        (Some(lo), _) if n < *lo => Err(format!("At least {}.", show_number(*lo))),
        (_, Some(hi)) if n > *hi => Err(format!("At most {}.", show_number(*hi))),
        _ => Ok(()),
    };
    let among = |opts: &[Opt], item: &Value| {
        if opts.iter().any(|o| &o.value == item) {
            Ok(())
        } else {
            Err(format!("{} is not one of the options.", text_of(item)))
        }
    };
    match &f.kind {
        FieldKind::Integer { min, max } | FieldKind::Number { min, max } => bounds(v.as_f64().unwrap_or(0.0), min, max),
        FieldKind::Date => {
            let t = v.as_str().unwrap_or_default();
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|_| ())
                .map_err(|_| format!("Enter a date as YYYY-MM-DD, not {t:?}."))
        }
        FieldKind::Time => {
            let t = v.as_str().unwrap_or_default();
            NaiveTime::parse_from_str(t, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
                .map(|_| ())
                .map_err(|_| format!("Enter a time as HH:MM, not {t:?}."))
        }
        FieldKind::DateTime => {
            let t = v.as_str().unwrap_or_default();
            let ok = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M").is_ok()
                || NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_ok()
                || chrono::DateTime::parse_from_rfc3339(t).is_ok();
            if ok {
                Ok(())
            } else {
                Err(format!("Enter a date and time as YYYY-MM-DDTHH:MM, not {t:?}."))
            }
        }
        FieldKind::Select { options } => among(options, v),
        FieldKind::MultiSelect { options } => v.as_array().into_iter().flatten().try_for_each(|i| among(options, i)),
        FieldKind::Dynamic { multi, .. } => match choices {
            Choices::Ready(opts) if *multi => v.as_array().into_iter().flatten().try_for_each(|i| among(&opts, i)),
            Choices::Ready(opts) => among(&opts, v),
            Choices::AwaitingInit => Err("Its options appear after the tenant's first init sync.".to_owned()),
            Choices::AwaitingParent { parent } => Err(format!("Choose {parent} first.")),
        },
        FieldKind::Text | FieldKind::Checkbox => Ok(()),
    }
}

fn show_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}
