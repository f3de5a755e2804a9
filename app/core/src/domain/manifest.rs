//! PANDIUM.yaml: what an integration's repository says about building and running it,
//! and the configuration form its tenants fill in. Parsed once, validated whole.

use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::yaml;

/// The manifest versions this hub reads.
pub const VERSIONS: [&str; 3] = ["0.4", "0.5", "1.0"];
/// The element types a uischema may use.
pub const UI_ELEMENTS: [&str; 8] =
    ["Control", "MultiSelectControl", "Label", "Divider", "VerticalLayout", "HorizontalLayout", "Group", "Section"];
const TYPES: [&str; 6] = ["string", "integer", "number", "boolean", "array", "object"];
const FORMATS: [&str; 3] = ["date", "time", "date-time"];
/// The `const` of the option that marks a definition as filled in by an init run.
pub const PLACEHOLDER: &str = "placeholder";

/// A validated manifest, as stored with its release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    pub base: Option<String>,
    pub build: Option<String>,
    pub run: String,
    pub connectors: Vec<String>,
    pub configs: ConfigModel,
    pub metadata_schema: Option<Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigModel {
    pub schema: ObjectSchema,
    pub uischema: Option<UiElement>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectSchema {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub required: Vec<String>,
    /// In the order the file gives them: a form without a uischema shows them so.
    #[serde(default)]
    pub properties: IndexMap<String, Property>,
    #[serde(default)]
    pub definitions: IndexMap<String, Property>,
}

/// One property (or definition) of the configuration schema.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Property {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, alias = "minimum", skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, alias = "maximum", skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<Value>>,
    #[serde(default, rename = "oneOf", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Choice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Property>>,
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// A labelled option of a `oneOf` select.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    #[serde(rename = "const")]
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A node of the uischema layout tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UiElement {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    #[serde(default, rename = "hintText", skip_serializing_if = "Option::is_none")]
    pub hint_text: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<UiElement>,
}

/// The file as written, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    version: Value,
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    build: Option<String>,
    run: Option<String>,
    #[serde(default)]
    connectors: Vec<String>,
    #[serde(default)]
    configs: Option<RawConfigs>,
    #[serde(default)]
    metadata_schema: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfigs {
    #[serde(default)]
    schema: ObjectSchema,
    #[serde(default)]
    uischema: Option<UiElement>,
}

/// Why a manifest was refused: a position for what the YAML parser found, a path
/// into the document for what validation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestError {
    Syntax(yaml::YamlError),
    Invalid { path: String, message: String },
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(e) => write!(f, "{e}"),
            Self::Invalid { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for ManifestError {}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError::Invalid { path: path.into(), message: message.into() }
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let raw: RawManifest = yaml::from_str(text).map_err(ManifestError::Syntax)?;
        let version = match &raw.version {
            Value::Number(n) => n.as_f64().map(|v| format!("{v:.1}")).unwrap_or_else(|| n.to_string()),
            Value::String(s) => s.trim().to_owned(),
            other => other.to_string(),
        };
        if !VERSIONS.contains(&version.as_str()) {
            return Err(invalid("version", format!("{version} is not supported; use one of {}", VERSIONS.join(", "))));
        }
        let run = raw.run.unwrap_or_default();
        if run.trim().is_empty() {
            return Err(invalid("run", "the command that runs the integration is missing"));
        }
        for (i, name) in raw.connectors.iter().enumerate() {
            if super::connector::check_name(name).is_err() {
                return Err(invalid(format!("connectors[{i}]"), format!("{name:?} is not a connector name")));
            }
        }
        let configs = raw.configs.map(|c| ConfigModel { schema: c.schema, uischema: c.uischema }).unwrap_or_default();
        check_schema(&configs.schema)?;
        if let Some(ui) = &configs.uischema {
            check_ui(ui, &configs.schema, "configs.uischema")?;
        }
        if let Some(meta) = &raw.metadata_schema {
            if !meta.is_object() {
                return Err(invalid("metadata_schema", "must be a mapping (a JSON Schema)"));
            }
        }
        Ok(Self {
            version,
            base: raw.base,
            build: raw.build.filter(|b| !b.trim().is_empty()),
            run,
            connectors: raw.connectors,
            configs,
            metadata_schema: raw.metadata_schema,
        })
    }

    /// Connectors the manifest names that are not in `known`.
    pub fn unknown_connectors<'a>(&'a self, known: &[String]) -> Vec<&'a str> {
        self.connectors.iter().filter(|c| !known.contains(c)).map(String::as_str).collect()
    }
}

impl ObjectSchema {
    /// A property with its `$ref` followed to the definition.
    pub fn resolve<'a>(&'a self, prop: &'a Property) -> &'a Property {
        prop.reference
            .as_deref()
            .and_then(|r| r.strip_prefix("#/definitions/"))
            .and_then(|name| self.definitions.get(name))
            .unwrap_or(prop)
    }
}

impl Property {
    /// A definition whose only option is the placeholder: an init run fills it in.
    pub fn is_dynamic(&self) -> bool {
        let placeholder = |c: &Choice| c.value == Value::String(PLACEHOLDER.to_owned());
        match (&self.one_of, &self.enum_values) {
            (Some(options), _) => !options.is_empty() && options.iter().all(placeholder),
            (None, Some(values)) => values.len() == 1 && values[0] == Value::String(PLACEHOLDER.to_owned()),
            _ => false,
        }
    }
}

fn check_schema(schema: &ObjectSchema) -> Result<(), ManifestError> {
    if let Some(kind) = &schema.kind {
        if kind != "object" {
            return Err(invalid("configs.schema.type", format!("must be object, not {kind}")));
        }
    }
    for name in &schema.required {
        if !schema.properties.contains_key(name) {
            return Err(invalid("configs.schema.required", format!("{name} is required but is not a property")));
        }
    }
    for (name, def) in &schema.definitions {
        check_property(schema, def, &format!("configs.schema.definitions.{name}"), false)?;
    }
    for (name, prop) in &schema.properties {
        check_property(schema, prop, &format!("configs.schema.properties.{name}"), true)?;
    }
    Ok(())
}

fn check_property(schema: &ObjectSchema, prop: &Property, path: &str, refs_allowed: bool) -> Result<(), ManifestError> {
    if let Some(r) = &prop.reference {
        let name = r
            .strip_prefix("#/definitions/")
            .ok_or_else(|| invalid(format!("{path}.$ref"), format!("{r} must have the form #/definitions/<name>")))?;
        if !refs_allowed {
            return Err(invalid(format!("{path}.$ref"), "definitions cannot refer to other definitions"));
        }
        if !schema.definitions.contains_key(name) {
            let known = schema.definitions.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(invalid(
                format!("{path}.$ref"),
                format!("{r} refers to a missing definition (definitions: {})", or_none(&known)),
            ));
        }
    }
    let resolved = schema.resolve(prop);
    let kind = prop.kind.as_deref().or(resolved.kind.as_deref());
    if let Some(k) = kind {
        if !TYPES.contains(&k) {
            return Err(invalid(format!("{path}.type"), format!("{k} is not a type; use one of {}", TYPES.join(", "))));
        }
    } else if prop.reference.is_none() && prop.enum_values.is_none() && prop.one_of.is_none() {
        return Err(invalid(path, "has no type"));
    }
    if let Some(f) = &prop.format {
        if !FORMATS.contains(&f.as_str()) {
            return Err(invalid(
                format!("{path}.format"),
                format!("{f} is not a format; use one of {}", FORMATS.join(", ")),
            ));
        }
    }
    if let (Some(min), Some(max)) = (prop.min, prop.max) {
        if min > max {
            return Err(invalid(path, format!("min {min} is greater than max {max}")));
        }
    }
    if prop.enum_values.as_ref().is_some_and(Vec::is_empty) || prop.one_of.as_ref().is_some_and(Vec::is_empty) {
        return Err(invalid(path, "has an empty list of options"));
    }
    if kind == Some("array") {
        let items = prop.items.as_deref().ok_or_else(|| invalid(path, "an array needs items (an enum or a $ref)"))?;
        check_property(schema, items, &format!("{path}.items"), refs_allowed)?;
    }
    Ok(())
}

fn check_ui(el: &UiElement, schema: &ObjectSchema, path: &str) -> Result<(), ManifestError> {
    if !UI_ELEMENTS.contains(&el.kind.as_str()) {
        return Err(invalid(
            format!("{path}.type"),
            format!("{} is not an element type; use one of {}", el.kind, UI_ELEMENTS.join(", ")),
        ));
    }
    if matches!(el.kind.as_str(), "Control" | "MultiSelectControl") {
        let scope = el.scope.as_deref().ok_or_else(|| invalid(path, format!("a {} needs a scope", el.kind)))?;
        let name = scope.strip_prefix("#/properties/").unwrap_or("");
        if !schema.properties.contains_key(name) {
            let known = schema.properties.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(invalid(
                format!("{path}.scope"),
                format!("{scope} points at no property (properties: {})", or_none(&known)),
            ));
        }
    }
    for (i, child) in el.elements.iter().enumerate() {
        check_ui(child, schema, &format!("{path}.elements[{i}]"))?;
    }
    Ok(())
}

fn or_none(list: &str) -> &str {
    if list.is_empty() {
        "none"
    } else {
        list
    }
}
