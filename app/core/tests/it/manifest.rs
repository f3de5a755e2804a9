//! PANDIUM.yaml fixtures, good and broken: the parsed model and the exact error places.

use hub_core::domain::manifest::{Manifest, ManifestError};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/manifests/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_reference_manifest_parses_whole() {
    let m = Manifest::parse(&fixture("good")).expect("valid");
    assert_eq!(m.version, "0.4");
    assert_eq!(m.base.as_deref(), Some("node:20"));
    assert_eq!(m.build.as_deref(), Some("npm ci && npm run build"));
    assert_eq!(m.run, "node .");
    assert_eq!(m.connectors, vec!["slack"]);
    let schema = &m.configs.schema;
    assert_eq!(schema.required, vec!["channel"]);
    let names: Vec<_> = schema.properties.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["channel", "batch_size", "include_archived", "since", "level", "slack_user", "tags", "threshold"],
        "properties keep the file's order"
    );
    let batch = &schema.properties["batch_size"];
    assert_eq!((batch.min, batch.max), (Some(1.0), Some(500.0)));
    let threshold = &schema.properties["threshold"];
    assert_eq!((threshold.min, threshold.max), (Some(0.5), Some(2.5)), "minimum/maximum are accepted too");
    assert_eq!(schema.properties["since"].format.as_deref(), Some("date"));
    let level = schema.resolve(&schema.properties["level"]);
    assert_eq!(level.enum_values.as_ref().map(Vec::len), Some(3));
    assert!(schema.definitions["slack_users"].is_dynamic());
    assert!(!schema.definitions["levels"].is_dynamic());
    let ui = m.configs.uischema.as_ref().expect("uischema");
    assert_eq!(ui.kind, "VerticalLayout");
    assert_eq!(ui.elements[0].hint_text.as_deref(), Some("Pick a channel and a user"));
    assert!(ui.elements[2].admin);
    assert!(m.metadata_schema.is_some());
    // The stored JSON reads back to the same model.
    let json = serde_json::to_string(&m).expect("json");
    assert_eq!(serde_json::from_str::<Manifest>(&json).expect("back"), m);
}

/// Each broken fixture and what its error must say: the line and column for what the
/// YAML parser finds, the path for what validation finds.
#[test]
fn broken_manifests_say_where_and_what() {
    let check = |name: &str, expect_at: Option<(usize, usize)>, needle: &str| {
        let err = Manifest::parse(&fixture(name)).expect_err(name);
        match (&err, expect_at) {
            (ManifestError::Syntax(y), Some(at)) => {
                assert_eq!((y.line, y.column), (Some(at.0), Some(at.1)), "{name}: {err}")
            }
            (ManifestError::Invalid { .. }, None) => {}
            _ => panic!("{name}: unexpected kind of error: {err:?}"),
        }
        assert!(err.to_string().contains(needle), "{name}: {err}");
    };
    check("syntax", Some((7, 1)), "did not find expected ',' or '}'");
    check("wrong_shape", Some((3, 13)), "invalid type: string \"slack\", expected a sequence");
    check("unknown_key", Some((3, 1)), "unknown field `runn`");
    check(
        "bad_scope",
        None,
        "configs.uischema.elements[0].scope: #/properties/chanel points at no property (properties: channel)",
    );
    check("unknown_element", None, "configs.uischema.elements[0].type: Accordion is not an element type");
    check("missing_ref", None, "configs.schema.properties.level.$ref: #/definitions/levels refers to a missing definition (definitions: colours)");
    check("bad_version", None, "version: 2.0 is not supported");
    check("no_run", None, "run: the command that runs the integration is missing");
}
