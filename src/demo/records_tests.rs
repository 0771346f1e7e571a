//! Tests of `create`, `write` and `unlink` on the seeded dataset.

use super::*;
use crate::demo::data::{CATEGORY, COMPANY};
use serde_json::json;

const STAMP: Stamp = Stamp {
    uid: 2,
    now: "2026-12-01 10:00:00",
};

fn read(db: &Database, table: TableId, id: i64, names: &[&str]) -> Value {
    let model = db.model(table);
    let fields: Vec<usize> = names
        .iter()
        .filter_map(|name| model.field_index(name))
        .collect();
    db.read_record(table, id, &fields)
}

#[test]
fn create_returns_the_next_id_and_stamps_the_record() {
    let mut db = seed::database();
    let values = json!({"name": "Wire Test Partner", "email": "wire.test@example.com", "website": "https://example.com"});
    assert_eq!(create(&mut db, PARTNER, &values, STAMP), Ok(51));
    assert_eq!(
        read(
            &db,
            PARTNER,
            51,
            &[
                "name",
                "phone",
                "create_uid",
                "create_date",
                "write_date",
                "active",
                "type"
            ]
        ),
        json!({"id": 51, "name": "Wire Test Partner", "phone": false, "create_uid": [2, "Mitchell Admin"],
               "create_date": "2026-12-01 10:00:00", "write_date": "2026-12-01 10:00:00",
               "active": true, "type": "contact"})
    );
    assert_eq!(
        create(&mut db, PARTNER, &json!({"name": "Next"}), STAMP),
        Ok(52)
    );
}

#[test]
fn create_rejects_unknown_fields_and_nameless_contacts() {
    let mut db = seed::database();
    let fault = create(
        &mut db,
        PARTNER,
        &json!({"name": "X", "no_such_field": 1}),
        STAMP,
    )
    .err();
    assert_eq!(fault.as_ref().map(|f| f.code), Some(1));
    assert!(fault
        .map(|f| f.string)
        .unwrap_or_default()
        .ends_with("\nValueError: Invalid field 'no_such_field' on model 'res.partner'\n"));
    let nameless = create(&mut db, PARTNER, &json!({"email": "a@b.c"}), STAMP).err();
    assert_eq!(
        nameless.map(|f| f.string).as_deref(),
        Some("The operation cannot be completed: Contacts require a name")
    );
    assert_eq!(
        create(
            &mut db,
            PARTNER,
            &json!({"type": "invoice", "parent_id": 15}),
            STAMP
        ),
        Ok(51)
    );
    assert_eq!(db.table(PARTNER).rows.len(), 51);
}

#[test]
fn values_are_converted_to_their_field_types() {
    let mut db = seed::database();
    let values = json!({"name": "Typed", "color": "4", "partner_latitude": 12, "is_company": 1,
                        "category_id": [[6, 0, [1, 2]], [4, 3], [3, 1]], "country_id": [20, "Belgium"],
                        "comment": "<p>ça & <b>gras</b></p><script>alert(1)</script>", "company_type": "company"});
    let id = create(&mut db, PARTNER, &values, STAMP);
    assert_eq!(id, Ok(51));
    assert_eq!(
        read(
            &db,
            PARTNER,
            51,
            &[
                "color",
                "partner_latitude",
                "is_company",
                "category_id",
                "country_id",
                "comment"
            ]
        ),
        json!({"id": 51, "color": 4, "partner_latitude": 12.0, "is_company": true, "category_id": [2, 3],
               "country_id": [20, "Belgium"], "comment": "<p>ça &amp; <b>gras</b></p>"})
    );
    for bad in [
        json!({"color": "x"}),
        json!({"type": "nope"}),
        json!({"country_id": "Belgium"}),
        json!({"create_date": 1, "write_date": "x", "name": 5}),
    ] {
        let result = write(&mut db, PARTNER, &[51], &bad, STAMP);
        if bad.get("name").is_some() {
            // Log fields are ignored, a number becomes text.
            assert_eq!(result, Ok(()));
        } else {
            assert_eq!(result.map_err(|f| f.code), Err(1), "{bad}");
        }
    }
    let missing_target = write(&mut db, PARTNER, &[51], &json!({"country_id": 999}), STAMP).err();
    assert_eq!(missing_target.map(|f| f.code), Some(2));
}

#[test]
fn write_updates_values_and_write_date() {
    let mut db = seed::database();
    let values = json!({"email": "wire.changed@example.com", "phone": "+1 555 0100"});
    assert_eq!(write(&mut db, PARTNER, &[15, 27], &values, STAMP), Ok(()));
    assert_eq!(
        read(
            &db,
            PARTNER,
            27,
            &["email", "phone", "write_date", "write_uid", "create_date"]
        ),
        json!({"id": 27, "email": "wire.changed@example.com", "phone": "+1 555 0100",
               "write_date": "2026-12-01 10:00:00", "write_uid": [2, "Mitchell Admin"],
               "create_date": "2026-11-30 02:46:50"})
    );
}

#[test]
fn write_and_unlink_of_missing_records_fail_without_changes() {
    let mut db = seed::database();
    let fault = write(
        &mut db,
        PARTNER,
        &[15, 999999999],
        &json!({"name": "ghost"}),
        STAMP,
    )
    .err();
    assert_eq!(
        fault,
        Some(Fault {
            code: 2,
            string: "Record does not exist or has been deleted.\n(Record: res.partner(999999999,), User: 2)".into()
        })
    );
    assert_eq!(
        read(&db, PARTNER, 15, &["name"]),
        json!({"id": 15, "name": "Azure Interior"})
    );
    let unlink_fault = unlink(&mut db, PARTNER, &[999], 8).err().map(|f| f.string);
    assert_eq!(
        unlink_fault.as_deref(),
        Some("Record does not exist or has been deleted.\n(Record: res.partner(999,), User: 8)")
    );
}

#[test]
fn recursive_parents_are_refused() {
    let mut db = seed::database();
    let fault = write(&mut db, PARTNER, &[15], &json!({"parent_id": 27}), STAMP).err();
    assert_eq!(
        fault.map(|f| (f.code, f.string)),
        Some((2, "You cannot create recursive Partner hierarchies.".into()))
    );
    let own = write(&mut db, PARTNER, &[15], &json!({"parent_id": 15}), STAMP).err();
    assert_eq!(own.map(|f| f.code), Some(2));
    let tags = write(&mut db, CATEGORY, &[1], &json!({"parent_id": 5}), STAMP).err();
    assert_eq!(
        tags.map(|f| f.string).as_deref(),
        Some("Recursion Detected.")
    );
    assert_eq!(
        write(&mut db, PARTNER, &[27], &json!({"parent_id": 16}), STAMP),
        Ok(())
    );
    assert_eq!(
        read(&db, PARTNER, 15, &["child_ids"]),
        json!({"id": 15, "child_ids": [34, 28]})
    );
}

#[test]
fn users_get_a_partner_and_unique_logins() {
    let mut db = seed::database();
    let duplicate = create(
        &mut db,
        USERS,
        &json!({"name": "Dup", "login": "demo_api"}),
        STAMP,
    )
    .err();
    assert_eq!(
        duplicate.map(|f| (f.code, f.string)),
        Some((
            2,
            "The operation cannot be completed: You can not have two users with the same login!"
                .into()
        ))
    );
    assert_eq!(db.table(PARTNER).rows.len(), 50);
    let id = create(
        &mut db,
        USERS,
        &json!({"name": "New User", "login": "new", "email": "new@example.com"}),
        STAMP,
    );
    assert_eq!(id, Ok(9));
    assert_eq!(
        read(
            &db,
            USERS,
            9,
            &["name", "login", "email", "partner_id", "company_id"]
        ),
        json!({"id": 9, "name": "New User", "login": "new", "email": "new@example.com",
               "partner_id": [51, "New User"], "company_id": [1, "YourCompany"]})
    );
    assert_eq!(
        write(&mut db, USERS, &[9], &json!({"name": "Renamed"}), STAMP),
        Ok(())
    );
    assert_eq!(
        read(&db, PARTNER, 51, &["name", "user_ids"]),
        json!({"id": 51, "name": "Renamed", "user_ids": [9]})
    );
    let nameless = create(&mut db, USERS, &json!({"login": "x"}), STAMP).err();
    assert_eq!(nameless.map(|f| f.code), Some(2));
    let loginless = create(&mut db, USERS, &json!({"name": "x"}), STAMP).err();
    assert!(loginless
        .map(|f| f.string)
        .unwrap_or_default()
        .contains("'Login' (login)"));
}

#[test]
fn unlink_clears_references_and_respects_required_ones() {
    let mut db = seed::database();
    assert_eq!(unlink(&mut db, PARTNER, &[15], 2), Ok(()));
    assert_eq!(
        read(&db, PARTNER, 27, &["parent_id", "display_name"]),
        json!({"id": 27, "parent_id": false, "display_name": "Brandon Freeman"})
    );
    assert_eq!(unlink(&mut db, CATEGORY, &[5], 2), Ok(()));
    assert_eq!(
        read(&db, PARTNER, 16, &["category_id"]),
        json!({"id": 16, "category_id": [1]})
    );
    let blocked = unlink(&mut db, PARTNER, &[3], 2)
        .err()
        .map(|f| f.string)
        .unwrap_or_default();
    assert!(blocked.starts_with(
        "The operation cannot be completed: another model requires the record being deleted."
    ));
    assert!(db.exists(PARTNER, 3));
    assert!(unlink(&mut db, COMPANY, &[1], 2).is_err());
    assert!(unlink(&mut db, USERS, &[2], 2).is_err());
    assert_eq!(unlink(&mut db, USERS, &[6], 2), Ok(()));
}

#[test]
fn child_ids_commands_move_children() {
    let mut db = seed::database();
    assert_eq!(
        write(
            &mut db,
            PARTNER,
            &[16],
            &json!({"child_ids": [[4, 27]]}),
            STAMP
        ),
        Ok(())
    );
    assert_eq!(
        read(&db, PARTNER, 27, &["parent_id"]),
        json!({"id": 27, "parent_id": [16, "Bright Print Co"]})
    );
    assert_eq!(
        write(
            &mut db,
            PARTNER,
            &[15],
            &json!({"child_ids": [[6, 0, [28]]]}),
            STAMP
        ),
        Ok(())
    );
    assert_eq!(
        read(&db, PARTNER, 15, &["child_ids"]),
        json!({"id": 15, "child_ids": [28]})
    );
}
