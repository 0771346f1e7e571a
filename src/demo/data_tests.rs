//! Tests of storage, computed fields and the read format on the seeded dataset.

use super::*;
use crate::demo::seed;
use serde_json::json;

fn read(db: &Database, table: TableId, id: i64, names: &[&str]) -> Value {
    let model = db.model(table);
    let fields: Vec<usize> = names.iter().filter_map(|n| model.field_index(n)).collect();
    db.read_record(table, id, &fields)
}

#[test]
fn many2one_reads_as_id_and_display_name() {
    let db = seed::database();
    assert_eq!(
        read(&db, PARTNER, 27, &["name", "parent_id", "display_name"]),
        json!({"id": 27, "name": "Brandon Freeman", "parent_id": [15, "Azure Interior"],
               "display_name": "Azure Interior, Brandon Freeman"})
    );
    assert_eq!(
        read(&db, PARTNER, 15, &["parent_id"]),
        json!({"id": 15, "parent_id": false})
    );
}

#[test]
fn one2many_is_ordered_by_the_comodel_order() {
    let db = seed::database();
    assert_eq!(
        read(&db, PARTNER, 15, &["child_ids"]),
        json!({"id": 15, "child_ids": [27, 34, 28]})
    );
    assert_eq!(
        read(&db, PARTNER, 3, &["user_ids"]),
        json!({"id": 3, "user_ids": [2]})
    );
}

#[test]
fn computed_partner_fields() {
    let db = seed::database();
    assert_eq!(
        read(
            &db,
            PARTNER,
            27,
            &[
                "commercial_partner_id",
                "commercial_company_name",
                "company_type",
                "country_code"
            ]
        ),
        json!({"id": 27, "commercial_partner_id": [15, "Azure Interior"],
               "commercial_company_name": "Azure Interior", "company_type": "person",
               "country_code": "US"})
    );
    assert_eq!(
        read(&db, PARTNER, 15, &["email_formatted"]),
        json!({"id": 15, "email_formatted": "\"Azure Interior\" <azure.Interior24@example.com>"})
    );
}

#[test]
fn related_user_name_comes_from_the_partner() {
    let db = seed::database();
    assert_eq!(
        read(&db, USERS, 2, &["name", "login"]),
        json!({"id": 2, "name": "Mitchell Admin", "login": "admin"})
    );
}

#[test]
fn back_references_follow_updates_and_removals() {
    let mut db = seed::database();
    let parent = db.model(PARTNER).field_index("parent_id").unwrap_or(0);
    db.set(PARTNER, 28, parent, Value::Bool(false));
    assert_eq!(
        read(&db, PARTNER, 15, &["child_ids"]),
        json!({"id": 15, "child_ids": [27, 34]})
    );
    db.remove(PARTNER, 34);
    assert_eq!(
        read(&db, PARTNER, 15, &["child_ids"]),
        json!({"id": 15, "child_ids": [27]})
    );
}
