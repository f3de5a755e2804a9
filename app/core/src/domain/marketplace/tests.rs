use super::*;

#[test]
fn origins_are_scheme_host_and_port_only() {
    assert_eq!(check_origin("https://App.Example.com/").as_deref(), Ok("https://app.example.com"));
    assert_eq!(check_origin("http://127.0.0.1:4100").as_deref(), Ok("http://127.0.0.1:4100"));
    for bad in ["app.example.com", "https://", "https://a.com/path", "ftp://a.com", "https://a.com:0", "https://a b"] {
        assert!(check_origin(bad).is_err(), "{bad}");
    }
}

#[test]
fn settings_are_checked_field_by_field() {
    let ok = MarketplaceInput {
        name: " Acme Apps ".into(),
        accent: "#AABBCC".into(),
        logo_url: String::new(),
        origins: "https://a.com\nhttps://a.com, http://localhost:3000".into(),
    };
    let look = ok.validate().expect("valid");
    assert_eq!(look.name, "Acme Apps");
    assert_eq!(look.accent, "#aabbcc");
    assert_eq!(look.origins, vec!["https://a.com", "http://localhost:3000"]);
    let bad = |f: &str, input: MarketplaceInput| assert_eq!(input.validate().expect_err(f).field, f);
    bad("name", MarketplaceInput { name: " ".into(), ..ok.clone() });
    bad("accent", MarketplaceInput { accent: "blue".into(), ..ok.clone() });
    bad("logo_url", MarketplaceInput { logo_url: "javascript:alert(1)".into(), ..ok.clone() });
    bad("origins", MarketplaceInput { origins: "https://a.com/x".into(), ..ok });
    assert_eq!(frame_ancestors(&[]), "frame-ancestors 'none'");
    assert_eq!(frame_ancestors(&["https://a.com".into()]), "frame-ancestors https://a.com");
}

#[test]
fn grace_hours() {
    assert_eq!(check_grace_hours("").ok(), Some(0));
    assert_eq!(check_grace_hours(" 24 ").ok(), Some(24));
    assert!(check_grace_hours("169").is_err());
    assert!(check_grace_hours("-1").is_err());
    assert!(check_grace_hours("two").is_err());
}

#[test]
fn listing_rules() {
    let input = ListingInput {
        published: "on".into(),
        short_description: "Orders into the CRM".into(),
        categories: "CRM, Sales, crm".into(),
        tags: "orders,,sync".into(),
        flag_name: "New".into(),
        ..Default::default()
    };
    let l = input.validate().expect("valid");
    assert!(l.published);
    assert_eq!(l.categories, vec!["CRM", "Sales"]);
    assert_eq!(l.tags, vec!["orders", "sync"]);
    assert_eq!(l.flag, Some(("New".into(), DEFAULT_ACCENT.into())));
    let err = ListingInput { short_description: String::new(), ..input.clone() }.validate().expect_err("short");
    assert_eq!(err.field, "short_description");
    let err = ListingInput { flag_color: "red".into(), ..input }.validate().expect_err("colour");
    assert_eq!(err.field, "flag_color");
}

#[test]
fn claims_need_a_sub_and_an_exp_within_a_day() {
    let now = 1_800_000_000;
    let c = |sub: &str, exp: i64| Claims { sub: sub.into(), exp: Some(exp), ..Default::default() };
    assert!(EndUser::from_claims(c("u-1", now + 3600), now).is_ok());
    assert!(EndUser::from_claims(c("  ", now + 3600), now).is_err());
    assert!(EndUser::from_claims(c("u-1", now + MAX_TOKEN_SECONDS + 3600), now).is_err());
    assert!(EndUser::from_claims(c("u-1", now + MAX_TOKEN_SECONDS), now).is_ok());
}

#[test]
fn extra_rules_hide_and_cap() {
    let mut u = EndUser::from_claims(Claims { sub: "u".into(), exp: Some(10), ..Default::default() }, 0).expect("user");
    u.rules.hidden_integrations = vec![serde_json::json!(3), serde_json::json!("Mailer")];
    assert!(u.hides(3, "x") && u.hides(9, "Mailer") && u.hides(9, "MAILER") && !u.hides(4, "Other"));
    assert!(u.may_install(100));
    u.rules.allowed_installs = Some(1);
    assert!(u.may_install(0) && !u.may_install(1));
}

#[test]
fn tenant_names_keep_the_rules() {
    assert_eq!(tenant_name("Orders to CRM", "user-42", 1), "orders-to-crm-user-42");
    assert_eq!(tenant_name("Orders", "Ann@Example.com", 2), "orders-ann-example-com-2");
    let long = tenant_name(&"x".repeat(100), &"Y_".repeat(100), 12);
    assert!(check_name(&long).is_ok() && long.len() <= NAME_MAX, "{long}");
    assert!(check_name(&tenant_name("!!!", "___", 1)).is_ok());
}
