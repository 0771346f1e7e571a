//! Tests of argument binding and `fields_get`.

use super::*;
use crate::demo::data::PARTNER;
use crate::demo::seed;
use serde_json::json;

const STAMP: Stamp = Stamp {
    uid: 2,
    now: "2026-12-01 10:00:00",
};

fn run(method: &'static str, args: Value, kwargs: Value) -> Result<Value, Fault> {
    let database = RwLock::new(seed::database());
    let args = args.as_array().cloned().unwrap_or_default();
    let kwargs = kwargs.as_object().cloned().unwrap_or_default();
    call(&database, PARTNER, method, &args, &kwargs, STAMP)
}

#[test]
fn arguments_bind_by_position_or_keyword() {
    let by_keyword = run(
        "search",
        json!([[["is_company", "=", true]]]),
        json!({"limit": 5, "order": "id"}),
    );
    let by_position = run(
        "search",
        json!([[["is_company", "=", true]], 0, 5, "id"]),
        json!({}),
    );
    assert_eq!(by_keyword, Ok(json!([1, 9, 10, 11, 12])));
    assert_eq!(by_position, by_keyword);
    let nil_limit = run(
        "search_read",
        json!([[["id", "=", 15]]]),
        json!({"fields": ["name"], "limit": null}),
    );
    assert_eq!(nil_limit, Ok(json!([{"id": 15, "name": "Azure Interior"}])));
    let twice = run("search", json!([[], 0]), json!({"offset": 1})).err();
    assert!(twice
        .map(|f| f.string)
        .unwrap_or_default()
        .contains("got multiple values for argument 'offset'"));
    let unexpected = run("search", json!([[]]), json!({"bogus": 1, "context": {}})).err();
    assert!(unexpected
        .map(|f| f.string)
        .unwrap_or_default()
        .contains("unexpected keyword argument 'bogus'"));
    let too_many = run("unlink", json!([[1], 2]), json!({})).err();
    assert_eq!(too_many.map(|f| f.code), Some(1));
}

#[test]
fn search_read_paging_and_transcript_07_08() {
    let seven = run(
        "search_read",
        json!([[]]),
        json!({"fields": ["name", "email"], "limit": 3, "order": "name desc"}),
    );
    assert_eq!(
        seven,
        Ok(json!([
            {"id": 1, "name": "YourCompany", "email": "info@yourcompany.com"},
            {"id": 9, "name": "Wood Corner", "email": "wood.corner26@example.com"},
            {"id": 17, "name": "Willie Burke", "email": "willie.burke80@example.com"}
        ]))
    );
    let eight = run(
        "search_read",
        json!([[["name", "ilike", "a"]]]),
        json!({"fields": ["name"], "offset": 5, "limit": 4, "order": "id"}),
    );
    assert_eq!(
        eight,
        Ok(json!([
            {"id": 14, "name": "The Jackson Group"}, {"id": 15, "name": "Azure Interior"},
            {"id": 19, "name": "Douglas Fletcher"}, {"id": 20, "name": "Floyd Steward"}
        ]))
    );
    assert_eq!(
        run(
            "search_count",
            json!([[["is_company", "=", true]]]),
            json!({})
        ),
        Ok(json!(9))
    );
    assert_eq!(
        run("search_count", json!([[]]), json!({"limit": 4})),
        Ok(json!(4))
    );
    let archived = run(
        "search_count",
        json!([[]]),
        json!({"context": {"active_test": false}}),
    );
    assert_eq!(archived, Ok(json!(50)));
}

#[test]
fn read_keeps_the_order_of_ids_and_skips_missing_ones() {
    let rows = run(
        "read",
        json!([[27, 999999999, 15, 27]]),
        json!({"fields": ["name"]}),
    );
    assert_eq!(
        rows,
        Ok(json!([{"id": 27, "name": "Brandon Freeman"}, {"id": 15, "name": "Azure Interior"}]))
    );
    let all = run("read", json!([15]), json!({}));
    let members = all.ok().and_then(|rows| {
        rows.get(0)
            .and_then(Value::as_object)
            .map(|row| row.keys().cloned().collect::<Vec<_>>())
    });
    let members = members.unwrap_or_default();
    assert_eq!(members.first().map(String::as_str), Some("id"));
    assert_eq!(members.len(), seed::database().model(PARTNER).fields.len());
    let unknown = run("read", json!([[15]]), json!({"fields": ["bogus"]})).err();
    assert!(unknown
        .map(|f| f.string)
        .unwrap_or_default()
        .ends_with("ValueError: Invalid field 'bogus' on model 'res.partner'\n"));
}

#[test]
fn fields_get_reports_only_the_attributes_that_apply() {
    let attributes = json!([
        "type",
        "string",
        "required",
        "readonly",
        "relation",
        "selection"
    ]);
    let Ok(Value::Object(fields)) = run("fields_get", json!([]), json!({"attributes": attributes}))
    else {
        panic!("fields_get failed");
    };
    assert_eq!(
        fields.get("name"),
        Some(&json!({"readonly": false, "required": false, "string": "Name", "type": "char"}))
    );
    assert_eq!(
        fields.get("parent_id"),
        Some(
            &json!({"readonly": false, "relation": "res.partner", "required": false, "string": "Related Company", "type": "many2one"})
        )
    );
    assert_eq!(
        fields.get("company_type"),
        Some(
            &json!({"readonly": false, "required": false, "selection": [["person", "Individual"], ["company", "Company"]], "string": "Company Type", "type": "selection"})
        )
    );
    let keys: Vec<&String> = fields
        .get("type")
        .and_then(Value::as_object)
        .map(|f| f.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["readonly", "required", "selection", "string", "type"]
    );
    let some = run("fields_get", json!([["name", "email"]]), json!({}));
    assert_eq!(
        some.ok().and_then(|v| v.as_object().map(|o| o.len())),
        Some(2)
    );
}

#[test]
fn create_accepts_one_dict_or_a_list() {
    assert_eq!(
        run("create", json!([{"name": "One"}]), json!({})),
        Ok(json!(51))
    );
    assert_eq!(
        run("create", json!([[{"name": "A"}, {"name": "B"}]]), json!({})),
        Ok(json!([51, 52]))
    );
    assert_eq!(
        run("write", json!([[15], {"phone": "1"}]), json!({})),
        Ok(json!(true))
    );
    assert_eq!(run("unlink", json!([[27]]), json!({})), Ok(json!(true)));
}

#[test]
fn cached_orders_follow_changes() {
    let database = RwLock::new(seed::database());
    let no_keywords = Map::new();
    let mut by_name = Map::new();
    by_name.insert("order".to_string(), json!("name"));
    by_name.insert("limit".to_string(), json!(2));
    let first_two = || {
        call(
            &database,
            PARTNER,
            "search",
            &[json!([["is_company", "=", true]])],
            &by_name,
            STAMP,
        )
    };
    assert_eq!(first_two(), Ok(json!([15, 16])));
    let rename = [json!([15]), json!({"name": "Zz Interior"})];
    assert_eq!(
        call(&database, PARTNER, "write", &rename, &no_keywords, STAMP),
        Ok(json!(true))
    );
    assert_eq!(first_two(), Ok(json!([16, 10])));
    let children = call(
        &database,
        PARTNER,
        "read",
        &[json!([15]), json!(["child_ids"])],
        &no_keywords,
        STAMP,
    );
    assert_eq!(children, Ok(json!([{"id": 15, "child_ids": [27, 34, 28]}])));
    let rename_child = [json!([28]), json!({"name": "Aaron Ford"})];
    assert_eq!(
        call(
            &database,
            PARTNER,
            "write",
            &rename_child,
            &no_keywords,
            STAMP
        ),
        Ok(json!(true))
    );
    let children = call(
        &database,
        PARTNER,
        "read",
        &[json!([15]), json!(["child_ids"])],
        &no_keywords,
        STAMP,
    );
    assert_eq!(children, Ok(json!([{"id": 15, "child_ids": [28, 27, 34]}])));
}
