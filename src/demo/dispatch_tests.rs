//! Tests of the services as a pure function, against the transcripts' codes and texts.

use super::*;
use serde_json::json;

fn admin_call(model: &str, method: &str, args: Value, kwargs: Value) -> Result<Value, Fault> {
    call_as(
        DEMO_ADMIN_UID_FOR_TESTS,
        DEMO_PASSWORD,
        model,
        method,
        args,
        kwargs,
    )
}

const DEMO_ADMIN_UID_FOR_TESTS: i64 = super::super::DEMO_ADMIN_UID;

fn call_as(
    uid: i64,
    password: &str,
    model: &str,
    method: &str,
    args: Value,
    kwargs: Value,
) -> Result<Value, Fault> {
    let erp = Erp::new(Default::default());
    erp.dispatch(
        "object",
        "execute_kw",
        &[
            json!(DEMO_DB),
            json!(uid),
            json!(password),
            json!(model),
            json!(method),
            args,
            kwargs,
        ],
    )
}

#[test]
fn common_service() {
    let erp = Erp::new(Default::default());
    let version = erp.dispatch("common", "version", &[]);
    assert_eq!(
        version,
        Ok(
            json!({"server_version": "18.0", "server_version_info": [18, 0, 0, "final", 0, ""], "server_serie": "18.0", "protocol_version": 1})
        )
    );
    let auth = |login: &str, password: &str| {
        erp.dispatch(
            "common",
            "authenticate",
            &[json!("demo"), json!(login), json!(password), json!({})],
        )
    };
    assert_eq!(auth("admin", "admin"), Ok(json!(2)));
    assert_eq!(auth("admin", DEMO_ADMIN_API_KEY), Ok(json!(2)));
    assert_eq!(auth("demo_api", "demo_api"), Ok(json!(8)));
    assert_eq!(auth("admin", "wrong-password"), Ok(json!(false)));
    assert_eq!(auth("nobody", "admin"), Ok(json!(false)));
    assert_eq!(
        erp.dispatch(
            "common",
            "login",
            &[json!("demo"), json!("admin"), json!("admin")]
        ),
        Ok(json!(2))
    );
    let unknown_db = erp
        .dispatch(
            "common",
            "authenticate",
            &[
                json!("no_such_db"),
                json!("admin"),
                json!("admin"),
                json!({}),
            ],
        )
        .err();
    assert_eq!(unknown_db.as_ref().map(|f| f.code), Some(1));
    assert!(unknown_db
        .map(|f| f.string)
        .unwrap_or_default()
        .ends_with("FATAL:  database \"no_such_db\" does not exist\n\n"));
    let missing = erp.dispatch("common", "no_such_method", &[]).err();
    assert!(missing
        .map(|f| f.string)
        .unwrap_or_default()
        .ends_with("\nException: Method not found: no_such_method\n"));
    assert_eq!(erp.dispatch("db", "list", &[]), Ok(json!(["demo"])));
    let service = erp.dispatch("nope", "version", &[]).err();
    assert!(service
        .map(|f| f.string)
        .unwrap_or_default()
        .ends_with("\nKeyError: 'nope'\n"));
}

#[test]
fn execute_kw_faults_follow_odoo_order() {
    let wrong = call_as(
        2,
        "wrong-password",
        "res.partner",
        "search_read",
        json!([[]]),
        json!({"limit": 1}),
    );
    assert_eq!(
        wrong,
        Err(Fault {
            code: 3,
            string: "Access Denied".into()
        })
    );
    let wrong_uid = call_as(
        8,
        "admin",
        "res.partner",
        "search_read",
        json!([[]]),
        json!({}),
    );
    assert_eq!(wrong_uid.map_err(|f| f.code), Err(3));
    let private = admin_call("res.partner", "_read_group", json!([[]]), json!({}));
    assert_eq!(
        private,
        Err(Fault {
            code: 4,
            string: "Private methods (such as _read_group) cannot be called remotely.".into()
        })
    );
    let model = admin_call(
        "x.no.such.model",
        "search_read",
        json!([[]]),
        json!({"limit": 1}),
    );
    assert_eq!(
        model,
        Err(Fault {
            code: 2,
            string: "Object x.no.such.model doesn't exist".into()
        })
    );
    let method = admin_call("res.partner", "no_such_method", json!([[]]), json!({})).err();
    assert_eq!(method.as_ref().map(|f| f.code), Some(1));
    assert!(method.map(|f| f.string).unwrap_or_default().ends_with(
        "\nAttributeError: The method 'no_such_method' does not exist on the model 'res.partner'\n"
    ));
    let none = admin_call(
        "res.partner",
        "check_access",
        json!([[15], "read"]),
        json!({}),
    )
    .err();
    assert!(none
        .map(|f| f.string)
        .unwrap_or_default()
        .ends_with("\nTypeError: cannot marshal None unless allow_none is enabled\n"));
    let context = admin_call("res.partner", "context_get", json!([]), json!({})).err();
    assert_eq!(context.map(|f| f.code), Some(1));
    assert_eq!(
        admin_call("res.users", "context_get", json!([]), json!({})),
        Ok(json!({"lang": "en_US", "tz": "Europe/Brussels", "uid": 2}))
    );
    let erp = Erp::new(Default::default());
    let short = erp
        .dispatch("object", "execute_kw", &[json!("demo"), json!(2)])
        .err();
    assert_eq!(short.map(|f| f.code), Some(1));
    let no_db = erp
        .dispatch(
            "object",
            "execute_kw",
            &[
                json!("x"),
                json!(2),
                json!("admin"),
                json!("res.partner"),
                json!("read"),
            ],
        )
        .err();
    assert!(no_db
        .map(|f| f.string)
        .unwrap_or_default()
        .contains("database \"x\" does not exist"));
}

#[test]
fn access_rights_of_the_restricted_user() {
    let as_user = |model: &str, method: &str, args: Value| {
        call_as(8, "demo_api", model, method, args, json!({}))
    };
    let acl = |verb: &str, description: &str, model: &str, group: &str| {
        Err(Fault { code: 4, string: format!("You are not allowed to {verb} '{description}' ({model}) records.\n\nThis operation is allowed for the following groups:\n\t- {group}\n\nContact your administrator to request access if necessary.") })
    };
    assert_eq!(
        as_user("res.users", "unlink", json!([[2]])),
        acl(
            "delete",
            "User",
            "res.users",
            "Administration/Access Rights"
        )
    );
    assert_eq!(
        as_user("ir.model", "write", json!([[1], {"x_rest_api": true}])),
        acl(
            "modify",
            "Models",
            "ir.model",
            "Administration/Access Rights"
        )
    );
    assert_eq!(
        as_user(
            "ir.model",
            "search_read",
            json!([[["model", "=", "res.partner"]]])
        ),
        acl(
            "access",
            "Models",
            "ir.model",
            "Administration/Access Rights"
        )
    );
    assert_eq!(
        as_user("res.partner", "create", json!([{"name": "not allowed"}])),
        acl(
            "create",
            "Contact",
            "res.partner",
            "Extra Rights/Contact Creation"
        )
    );
    assert_eq!(
        as_user("res.partner", "search_count", json!([[]])),
        Ok(json!(47))
    );
    assert_eq!(
        as_user("res.partner", "write", json!([[27], {"phone": "1"}])),
        Ok(json!(true))
    );
}

#[test]
fn ir_model_flags_as_in_transcript_37() {
    let rows = admin_call(
        "ir.model",
        "search_read",
        json!([[["model", "=", "res.partner"]]]),
        json!({"fields": ["model", "name", "x_rest_api"]}),
    );
    assert_eq!(
        rows,
        Ok(json!([{"id": 87, "model": "res.partner", "name": "Contact", "x_rest_api": true}]))
    );
    let users = admin_call(
        "ir.model",
        "search_read",
        json!([[["model", "=", "res.users"]]]),
        json!({"fields": ["rest_api", "x_rest_api"]}),
    );
    assert_eq!(
        users,
        Ok(json!([{"id": 92, "rest_api": false, "x_rest_api": false}]))
    );
}

#[test]
fn calls_are_recorded_without_passwords() {
    let erp = Erp::new(Default::default());
    let _ = erp.dispatch(
        "common",
        "authenticate",
        &[json!("demo"), json!("admin"), json!("admin"), json!({})],
    );
    let params = [
        json!("demo"),
        json!(2),
        json!("admin"),
        json!("res.users"),
        json!("write"),
        json!([[2], {"password": "hunter2"}]),
    ];
    let _ = erp.dispatch("object", "execute_kw", &params);
    let calls = erp.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].service.as_str(), calls[0].method.as_str()),
        ("common", "authenticate")
    );
    assert_eq!(calls[1].model.as_deref(), Some("res.users"));
    assert_eq!(calls[1].model_method.as_deref(), Some("write"));
    assert_eq!(calls[1].args, json!([[2], {"password": "***"}]));
    let debug = format!("{calls:?}");
    assert!(!debug.contains("hunter2") && !debug.contains("\"admin\""));
    assert_eq!(erp.execute_kw_count(), 1);
    erp.reset_calls();
    assert!(erp.calls().is_empty());
    assert_eq!(erp.execute_kw_count(), 0);
}

#[test]
fn timestamps_are_formatted_in_utc() {
    assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
    assert_eq!(format_timestamp(951_782_400), "2000-02-29 00:00:00");
    assert_eq!(format_timestamp(1_796_006_810), "2026-11-30 02:46:50");
    assert_eq!(now_utc().len(), 19);
}

#[test]
fn dates_and_floats_as_in_transcript_16() {
    let kwargs = json!({"fields": ["name", "rate", "company_rate", "currency_id", "company_id"], "limit": 2, "order": "name desc"});
    let rows = admin_call(
        "res.currency.rate",
        "search_read",
        json!([[["currency_id.name", "=", "EUR"]]]),
        kwargs,
    );
    assert_eq!(
        rows,
        Ok(
            json!([{"id": 125, "name": "2010-01-01", "rate": 1.2834, "company_rate": 1.2834,
                   "currency_id": [125, "EUR"], "company_id": [1, "YourCompany"]}])
        )
    );
    let bad_date = admin_call(
        "res.currency.rate",
        "create",
        json!([{"name": "yesterday", "currency_id": 125}]),
        json!({}),
    );
    assert_eq!(bad_date.map_err(|f| f.code), Err(1));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Values shaped like what reaches execute_kw: field names, operators, ids, nesting.
    fn arbitrary_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..60).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e3f64..1e3).prop_map(Value::from),
            prop::sample::select(vec![
                "name",
                "parent_id",
                "country_id.code",
                "child_ids",
                "category_id",
                "id",
                "=",
                "!=",
                "in",
                "not in",
                "ilike",
                "=like",
                "child_of",
                "parent_of",
                "&",
                "|",
                "!",
                "%a_",
                "name desc",
                "",
                "active",
                "is_company",
                "x",
                "2026-01-01",
                "comment",
                "company_type",
            ])
            .prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "fields",
                            "limit",
                            "offset",
                            "order",
                            "domain",
                            "name",
                            "parent_id",
                            "email",
                            "context",
                            "ids",
                            "vals"
                        ]),
                        inner
                    ),
                    0..5
                )
                .prop_map(|members| Value::Object(
                    members
                        .into_iter()
                        .map(|(key, value)| (key.to_string(), value))
                        .collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn execute_kw_never_panics(
            model in prop::sample::select(vec!["res.partner", "res.users", "res.partner.category", "res.currency.rate", "ir.model"]),
            method in prop::sample::select(vec!["search_read", "read", "search", "search_count", "create", "write", "unlink", "fields_get", "check_access", "context_get"]),
            args in prop::collection::vec(arbitrary_value(), 0..4),
            kwargs in arbitrary_value(),
        ) {
            let erp = Erp::new(Default::default());
            let params = [json!(DEMO_DB), json!(2), json!(DEMO_PASSWORD), json!(model), json!(method), Value::Array(args), kwargs];
            let _ = erp.dispatch("object", "execute_kw", &params);
            // The database stays usable afterwards.
            let count = erp.dispatch("object", "execute_kw", &[json!(DEMO_DB), json!(2), json!(DEMO_PASSWORD), json!("res.partner"), json!("search_count"), json!([[]])]);
            prop_assert!(count.is_ok());
        }

        #[test]
        fn any_params_never_panic(service in prop::sample::select(vec!["common", "db", "object", "x"]), method in prop::sample::select(vec!["version", "authenticate", "login", "list", "execute_kw", "y"]), params in prop::collection::vec(arbitrary_value(), 0..8)) {
            let erp = Erp::new(Default::default());
            let _ = erp.dispatch(service, method, &params);
        }
    }
}

#[test]
fn each_version_answers_its_own_version_and_uids() {
    let odoo17 = Erp::new(OdooVersion::Odoo17);
    assert_eq!(
        odoo17.dispatch("common", "version", &[]),
        Ok(
            json!({"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
                  "server_serie": "17.0", "protocol_version": 1})
        )
    );
    let flectra = Erp::new(OdooVersion::Flectra14);
    assert_eq!(
        flectra
            .dispatch("common", "version", &[])
            .map(|v| v["server_version"].clone()),
        Ok(json!("1.4"))
    );
    let auth = |login: &str, password: &str| {
        flectra.dispatch(
            "common",
            "authenticate",
            &[json!(DEMO_DB), json!(login), json!(password), json!({})],
        )
    };
    assert_eq!(auth("admin", "admin"), Ok(json!(1)));
    assert_eq!(auth("demo_api", "demo_api"), Ok(json!(7)));
    let as_uid = |uid: i64| {
        flectra.dispatch(
            "object",
            "execute_kw",
            &[
                json!(DEMO_DB),
                json!(uid),
                json!(DEMO_PASSWORD),
                json!("res.partner"),
                json!("search_count"),
                json!([[]]),
            ],
        )
    };
    assert!(matches!(as_uid(1), Ok(Value::Number(_))));
    // uid 2 is not Flectra's admin: Odoo 18's uid does not open the Flectra dialect.
    assert_eq!(
        as_uid(2),
        Err(Fault {
            code: 3,
            string: "Access denied".into()
        })
    );
}

#[test]
fn odoo_19_refuses_a_restricted_read_of_every_field_over_xml_rpc_too() {
    let read = |version: OdooVersion, uid: i64, password: &str, kwargs: Value| {
        Erp::new(version).dispatch(
            "object",
            "execute_kw",
            &[
                json!(DEMO_DB),
                json!(uid),
                json!(password),
                json!("res.partner"),
                json!("search_read"),
                json!([[["id", "=", 9]]]),
                kwargs,
            ],
        )
    };
    let user = super::super::DEMO_USER_UID;
    for kwargs in [json!({}), json!({"fields": []})] {
        let refused = read(
            OdooVersion::Odoo19,
            user,
            DEMO_USER_PASSWORD,
            kwargs.clone(),
        );
        let Err(Fault { code: 4, string }) = refused else {
            panic!("{kwargs}: {refused:?}");
        };
        assert!(string.starts_with(
            "Failed to read field res.partner.rtc_session_ids\nYou are not allowed to access \
             'Mail RTC session' (discuss.channel.rtc.session) records.\n\n"
        ));
        // Odoo 18 and the admin read every field.
        assert!(read(
            OdooVersion::Odoo18,
            user,
            DEMO_USER_PASSWORD,
            kwargs.clone()
        )
        .is_ok());
        let admin = read(
            OdooVersion::Odoo19,
            DEMO_ADMIN_UID_FOR_TESTS,
            DEMO_PASSWORD,
            kwargs,
        );
        assert!(admin.is_ok());
    }
    let named = read(
        OdooVersion::Odoo19,
        user,
        DEMO_USER_PASSWORD,
        json!({"fields": ["name"]}),
    );
    assert_eq!(named, Ok(json!([{"id": 9, "name": "Wood Corner"}])));
}
